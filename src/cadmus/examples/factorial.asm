; factorial by recursion: prints 1!, 2!, ..., 10!
    enter 1              ; global 0: i
    push 1
    store 0
loop:
    load 0
    push 10
    le
    jz done
    load 0
    load 0
    call fact 1          ; one argument, lands in the callee's slot 0
    print 2              ; "i i!"
    incl 0 1
    jmp loop
done:
    halt

fact:                    ; fact(n) = 1 if n <= 1 else n * fact(n - 1)
    enter 1
    load 0
    push 1
    le
    jz recurse
    push 1
    ret
recurse:
    load 0
    load 0
    dec
    call fact 1
    mul
    ret
