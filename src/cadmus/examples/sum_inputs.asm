; sum of inputs: the first input is a count n, then n values; prints their sum
; cadmus vm run sum_inputs.asm --input 4,10,20,30,40
    enter 2              ; 0: remaining, 1: total
    read
    store 0
loop:
    load 0
    jz done
    load 1
    read
    add
    store 1
    incl 0 -1
    jmp loop
done:
    load 1
    print 1
