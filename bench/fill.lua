-- 256x256 pixels x 100 frames, pixel by pixel: pixel = (x ^ y ^ frame) & 255 (the counterpart of fill.pxl)
local W, H = 256, 256
local canvas = {}
for i = 1, W * H do canvas[i] = 0xFF000000 end
for f = 0, 99 do
  for y = 0, H - 1 do
    local row = y * W + 1
    for x = 0, W - 1 do
      local c = (x ~ y ~ f) & 255
      canvas[row + x] = 0xFF000000 | (c << 16) | (c << 8) | c
    end
  end
end
print(canvas[W * H])
