# Euclid's algorithm in the Python subset.
def gcd(a, b):
    while b != 0:
        t = a % b
        a = b
        b = t
    return a


print(gcd(1071, 462))
assert gcd(1071, 462) == 21
