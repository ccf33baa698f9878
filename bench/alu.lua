-- 100M-iteration integer loop: s = (s + i*3) & 0xFFFF (the counterpart of alu.pxl)
local s = 0
for i = 0, 100000000 - 1 do
  s = (s + i * 3) & 0xFFFF
end
print(s)
