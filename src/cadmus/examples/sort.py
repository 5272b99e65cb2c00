# Selection sort in the Python subset: lists, append, negative indices.
def sort(xs):
    n = len(xs)
    for i in range(n):
        best = i
        for j in range(i + 1, n):
            if xs[j] < xs[best]:
                best = j
        t = xs[i]
        xs[i] = xs[best]
        xs[best] = t


xs = []
for v in range(5):
    xs.append((v * 7) % 5 - 2)
sort(xs)
print(xs[0], xs[-1])
assert xs[-1] == 2
