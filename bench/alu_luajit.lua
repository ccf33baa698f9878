-- alu.lua for LuaJIT (Lua 5.1 syntax: bitwise operations through the bit library)
local band = bit.band
local s = 0
for i = 0, 100000000 - 1 do
  s = band(s + i * 3, 0xFFFF)
end
print(s)
