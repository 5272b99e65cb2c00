# Python's // and % floor (the remainder takes the divisor's sign).
print(7 // 2, 7 % 2)
print(-7 // 2, -7 % 2)
print(7 // -2, 7 % -2)
assert -7 // 2 == -4
assert -7 % 2 == 1
