; an assertion that fails: checks that 7 * 6 == 41 (assertion id 2)
    push 7
    push 6
    mul
    dup
    print 1
    push 41
    eq
    assert 2
    push 1
    print 1              ; never reached
