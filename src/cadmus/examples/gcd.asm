; Euclid's algorithm with a loop: gcd(1071, 462) = 21
    enter 2              ; a, b
    push 1071
    store 0
    push 462
    store 1
loop:
    load 1
    jz done              ; while b != 0
    load 0
    load 1
    modt
    load 1
    store 0              ; a = b
    store 1              ; b = a % b
    jmp loop
done:
    load 0
    print 1
