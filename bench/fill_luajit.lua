-- fill.lua for LuaJIT (Lua 5.1 syntax: bitwise operations through the bit library)
local band, bor, bxor, lshift = bit.band, bit.bor, bit.bxor, bit.lshift
local W, H = 256, 256
local canvas = {}
for i = 1, W * H do canvas[i] = 0xFF000000 end
for f = 0, 99 do
  for y = 0, H - 1 do
    local row = y * W + 1
    for x = 0, W - 1 do
      local c = band(bxor(bxor(x, y), f), 255)
      canvas[row + x] = bor(0xFF000000, lshift(c, 16), lshift(c, 8), c)
    end
  end
end
print(canvas[W * H])
