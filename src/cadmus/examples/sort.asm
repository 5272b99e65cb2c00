; insertion sort of an array built with newarr/astore, then printed
    enter 4              ; 0: array, 1: i, 2: j, 3: key
    push 8
    newarr
    store 0
    push 0               ; fill a[i] = (i * 37 + 11) % 23 - 10
    store 1
fill:
    load 1
    push 8
    lt
    jz sort
    load 0
    load 1
    load 1
    push 37
    mul
    push 11
    add
    push 23
    modt
    push 10
    sub
    astore
    incl 1 1
    jmp fill
sort:
    load 0               ; print the input
    call show 1
    pop
    push 1
    store 1
outer:
    load 1
    load 0
    alen
    lt
    jz finished
    load 0
    load 1
    aload
    store 3              ; key = a[i]
    load 1
    dec
    store 2              ; j = i - 1
inner:
    load 2
    push 0
    ge
    jz place
    load 0
    load 2
    aload
    load 3
    gt
    jz place             ; while j >= 0 and a[j] > key
    load 0
    load 2
    inc
    load 0
    load 2
    aload
    astore               ; a[j + 1] = a[j]
    incl 2 -1
    jmp inner
place:
    load 0
    load 2
    inc
    load 3
    astore               ; a[j + 1] = key
    incl 1 1
    jmp outer
finished:
    load 0
    call show 1
    pop
    halt

show:                    ; show(a): print the 8 elements of a on one line
    enter 1
    load 0
    push 0
    aload
    load 0
    push 1
    aload
    load 0
    push 2
    aload
    load 0
    push 3
    aload
    load 0
    push 4
    aload
    load 0
    push 5
    aload
    load 0
    push 6
    aload
    load 0
    push 7
    aload
    print 8
    push 0
    ret
