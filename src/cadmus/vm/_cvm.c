/*
 * cadmus.vm._cvm: the compiled execution path of the Cadmus VM.
 *
 * It runs the same machine as the reference interpreter in machine.py, with
 * the same results: outputs, step counts, faults (with their pc and values),
 * limits and traces. The machine model, the memory layout and every rule are
 * those described at the top of machine.py; read that first.
 *
 * Functions (all called from native.py):
 *   analyze  verify.py's stack-depth analysis of an operand-checked program;
 *   pack     a decoded program to the instruction array `execute` reads,
 *            fusing some adjacent pairs into one dispatch (FUSED);
 *   execute  run it: threaded dispatch (labels as values; GCC or Clang, which
 *            the overflow builtins need anyway), the step budget checked
 *            before every dispatch;
 *   run_flat check the operands of flat code (no Program built), then
 *            analyze, pack and execute it in one call (native.run_code).
 *
 * What this file does not do:
 *   - number the opcodes. Its own enum lists them by mnemonic (OPCODE_NAMES);
 *     cadmus/vm/native.py maps the ISA's codes onto it by name, so isa.py stays
 *     the only numbering.
 *   - write messages or build error objects. A failure is reported as a fault
 *     name (FAULT_NAMES), the pc and the values involved; native.py builds the
 *     error with the same builder the reference uses (faults.py).
 *   - verify. It runs only the pre-decoded form produced after verification:
 *     every operand is in range, every jump target is in 0..n, and no frame's
 *     stack ever goes below its base (pcs that would are the `underflow`
 *     pseudo-op) or above `dmax` values.
 *
 * Values are signed 64-bit; a result outside that range is a fault, never a
 * wrap (the __builtin_*_overflow checks).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__)
/* GCC would merge the loads of two adjacent stack values into one 16-byte
   load right after two 8-byte stores wrote them: a store-forwarding stall
   on every binary operation. */
#pragma GCC optimize("no-tree-slp-vectorize")
#endif

/* ---- opcodes and faults, by name ------------------------------------------ */

#define OPCODES(X)                                                                  \
    X(nop) X(push) X(pop) X(dup) X(dup2) X(swap) X(over) X(rot) X(pick)             \
    X(enter) X(load) X(store) X(incl) X(gload) X(gstore)                            \
    X(add) X(sub) X(mul) X(divt) X(modt) X(divf) X(modf) X(neg) X(abs) X(pow)       \
    X(min) X(max) X(inc) X(dec)                                                     \
    X(eq) X(ne) X(lt) X(le) X(gt) X(ge) X(cmp) X(sgn)                               \
    X(not) X(land) X(lor)                                                           \
    X(band) X(bor) X(bxor) X(bnot) X(shl) X(shr)                                    \
    X(newarr) X(aload) X(astore) X(alen) X(apush) X(apop) X(acopy) X(mload) X(mstore) \
    X(jmp) X(jz) X(jnz) X(call) X(ret) X(halt)                                      \
    X(print) X(read) X(assert) X(asserteq)                                          \
    X(underflow) /* pseudo-op: verification proved this pc underflows */

/* Pairs of adjacent instructions the packer (native.py) fuses into one
   dispatch: (first, second), both mnemonics. The fused entry sits at the
   first's pc and carries the operands of both in order as a and b (the
   pairs hold two at most, and a jump's target is always a); the second's
   pc keeps its own plain entry, so a jump may still land there. A fused
   handler runs the first alone when the step budget has no room for the
   second, and reports a failure of either at that one's pc and step. */
#define FUSED(X)                                                                    \
    X(load, load) X(load, push) X(load, add) X(load, sub) X(inc, aload)             \
    X(eq, jz) X(ne, jz) X(lt, jz) X(le, jz) X(gt, jz) X(ge, jz)                     \
    X(eq, jnz) X(ne, jnz) X(lt, jnz) X(le, jnz) X(gt, jnz) X(ge, jnz)

#define FAULTS(X)                                                                   \
    X(underflow) X(overflow) X(pow_overflow) X(shl_overflow) X(division_by_zero)    \
    X(negative_exponent) X(negative_shift) X(not_array) X(bad_index)                \
    X(negative_size) X(empty_array) X(bad_address) X(header_address) X(bad_local)   \
    X(bad_global) X(input_exhausted) X(assertion) X(assert_equal) X(step_limit)     \
    X(stack_limit) X(depth_limit) X(memory_limit) X(output_limit)

#define AS_ENUM(name) OP_##name,
#define AS_ENUM2(first, second) OP_##first##__##second,
enum { OPCODES(AS_ENUM) FUSED(AS_ENUM2) N_OPCODES };
#undef AS_ENUM
#undef AS_ENUM2
#define N_PLAIN (OP_underflow + 1)
#define AS_ENUM(name) F_##name,
enum { FAULTS(AS_ENUM) N_FAULTS };
#undef AS_ENUM
#define AS_LABEL(name) &&L_##name,
#define AS_LABEL2(first, second) &&L_##first##__##second,
#define AS_STRING(name) #name,
#define AS_STRING2(first, second) #first " " #second,
#define AS_SECOND(first, second) OP_##second,
static const char *const opcode_names[] = {OPCODES(AS_STRING)};
static const char *const fused_names[] = {FUSED(AS_STRING2)};
static const int64_t fused_second[] = {FUSED(AS_SECOND)};
static const char *const fault_names[] = {FAULTS(AS_STRING)};
#undef AS_STRING

/* One pre-decoded instruction: three signed 64-bit words, as `pack` writes them. */
typedef struct {
    int64_t op, a, b;
} Ins;

typedef struct {
    Py_ssize_t ret, base, lbase; /* return pc, caller's stack base and locals base */
} Frame;

/* One step of a traced run: the pc executed, the top of the operand stack
   afterwards (if any) and where the frame's locals were copied. */
typedef struct {
    Py_ssize_t pc, off, len;
    int64_t top;
    int has_top;
} Step;

/* Signals are checked every CHUNK steps so that a long run can be interrupted. */
#define CHUNK ((int64_t)1 << 24)

/* `buf` grown to hold at least `need` elements of `size` bytes (doubling
   its capacity): the new pointer, or NULL (then `buf` is left as it was).
   Returning the pointer, rather than writing through its address, lets the
   compiler keep the machine's buffers in registers. */
static void *
grown(void *buf, Py_ssize_t *cap, Py_ssize_t need, size_t size)
{
    Py_ssize_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    void *p = PyMem_Realloc(buf, (size_t)n * size);
    if (p != NULL)
        *cap = n;
    return p;
}

#define RESERVE(buf, cap, need)                                         \
    do {                                                                \
        if ((need) > (cap)) {                                           \
            void *grown_ = grown((buf), &(cap), (need), sizeof(*(buf))); \
            if (grown_ == NULL)                                         \
                goto nomem;                                             \
            (buf) = grown_;                                             \
        }                                                               \
    } while (0)

static PyObject *
build_outputs(const int64_t *vals, const Py_ssize_t *lens, Py_ssize_t nlines)
{
    PyObject *list = PyList_New(nlines);
    if (list == NULL)
        return NULL;
    Py_ssize_t k = 0;
    for (Py_ssize_t i = 0; i < nlines; i++) {
        PyObject *line = PyTuple_New(lens[i]);
        if (line == NULL)
            goto fail;
        PyList_SET_ITEM(list, i, line);
        for (Py_ssize_t j = 0; j < lens[i]; j++) {
            PyObject *v = PyLong_FromLongLong(vals[k++]);
            if (v == NULL)
                goto fail;
            PyTuple_SET_ITEM(line, j, v);
        }
    }
    return list;
fail:
    Py_DECREF(list);
    return NULL;
}

static PyObject *
build_trace(const Step *steps, Py_ssize_t nsteps, const int64_t *values)
{
    PyObject *list = PyList_New(nsteps);
    if (list == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < nsteps; i++) {
        PyObject *locals = PyTuple_New(steps[i].len);
        if (locals == NULL)
            goto fail;
        for (Py_ssize_t j = 0; j < steps[i].len; j++) {
            PyObject *v = PyLong_FromLongLong(values[steps[i].off + j]);
            if (v == NULL) {
                Py_DECREF(locals);
                goto fail;
            }
            PyTuple_SET_ITEM(locals, j, v);
        }
        PyObject *item;
        if (steps[i].has_top)
            item = Py_BuildValue("(nLN)", steps[i].pc, (long long)steps[i].top, locals);
        else
            item = Py_BuildValue("(nON)", steps[i].pc, Py_None, locals);
        if (item == NULL)
            goto fail;
        PyList_SET_ITEM(list, i, item);
    }
    return list;
fail:
    Py_DECREF(list);
    return NULL;
}

static int
as_int64(PyObject *obj, int64_t *out)
{
    long long v = PyLong_AsLongLong(obj);
    if (v == -1 && PyErr_Occurred())
        return -1;
    *out = (int64_t)v;
    return 0;
}

PyDoc_STRVAR(execute_doc,
"execute(code, n, dmax, inputs, max_steps, max_stack, max_call_depth, max_memory, max_output, trace)\n"
"--\n\n"
"Run pre-decoded code (bytes: n + 1 instructions of three int64, the last the\n"
"halt past the end) to completion. Limits are at most 2**62. Returns\n"
"(fault, pc, steps, outputs, values, steps_taken): fault is -1 when the run\n"
"ended well, otherwise an index into FAULT_NAMES, with the failing pc and\n"
"the values the fault reports; with trace true, steps_taken lists\n"
"(pc, top or None, locals) after each instruction, as the reference traces\n"
"(else None).");

static PyObject *
execute(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 10) {
        PyErr_SetString(PyExc_TypeError, "execute() takes 10 arguments");
        return NULL;
    }
    if (!PyBytes_Check(args[0]) || !PyTuple_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "execute() needs code bytes and an inputs tuple");
        return NULL;
    }
    int64_t n, dmax, max_steps, max_stack, max_depth, max_memory, max_out;
    if (as_int64(args[1], &n) < 0 || as_int64(args[2], &dmax) < 0 || as_int64(args[4], &max_steps) < 0
        || as_int64(args[5], &max_stack) < 0 || as_int64(args[6], &max_depth) < 0
        || as_int64(args[7], &max_memory) < 0 || as_int64(args[8], &max_out) < 0)
        return NULL;
    if ((int64_t)PyBytes_GET_SIZE(args[0]) != (n + 1) * (int64_t)sizeof(Ins) || n < 0 || dmax < 0) {
        PyErr_SetString(PyExc_ValueError, "execute(): code does not hold n + 1 instructions");
        return NULL;
    }
    const Ins *code = (const Ins *)PyBytes_AS_STRING(args[0]);
    const int tracing = PyObject_IsTrue(args[9]);
    if (tracing < 0)
        return NULL;
    /* pack() checked the opcodes and jump targets once, when the program was packed */
    const int64_t max_mem = max_memory + 1; /* cell 0 is reserved */

    /* machine state; every buffer is NULL until reserved */
    int64_t *st = NULL, *lv = NULL, *mem = NULL, *ov = NULL, *inp = NULL;
    unsigned char *mk = NULL; /* per memory cell: 1 an array handle, 2 its other header cells */
    Frame *fr = NULL;
    Py_ssize_t *ol = NULL;
    Py_ssize_t stcap = 0, lcap = 0, mcap = 0, mkcap = 0, ocap = 0, frcap = 0, olcap = 0, incap = 0;
    Py_ssize_t sp = 0, base = 0, lbase = 0, ltop = 0, gn = 0, nfr = 0;
    Py_ssize_t mlen = 1, on = 0, nlines = 0, inpos = 0;
    int64_t nout = 0, steps = 0;
    Step *tr = NULL; /* a traced run's steps, and the locals they copied */
    int64_t *tv = NULL;
    Py_ssize_t trcap = 0, tvcap = 0, ntr = 0, ntv = 0;
    Py_ssize_t pc = 0;
    int fault = -1;
    Py_ssize_t fpc = 0;
    int nvals = 0;
    int64_t vals[3] = {0, 0, 0};
    PyObject *result = NULL;

    Py_ssize_t ninp = PyTuple_GET_SIZE(args[3]);
    RESERVE(inp, incap, ninp);
    for (Py_ssize_t i = 0; i < ninp; i++)
        if (as_int64(PyTuple_GET_ITEM(args[3], i), &inp[i]) < 0)
            goto done;
    RESERVE(st, stcap, dmax + 1);
    RESERVE(mem, mcap, 16);
    RESERVE(mk, mkcap, 16);
    mem[0] = 0;
    mk[0] = 0;

#define FAIL(name) do { fault = F_##name; fpc = pc - 1; goto finish; } while (0)
#define FAIL1(name, x) do { vals[0] = (x); nvals = 1; FAIL(name); } while (0)
#define FAIL2(name, x, y) do { vals[0] = (x); vals[1] = (y); nvals = 2; FAIL(name); } while (0)
#define FAIL3(name, x, y, z) do { vals[0] = (x); vals[1] = (y); vals[2] = (z); nvals = 3; FAIL(name); } while (0)
#define TOP st[sp - 1]
#define POP st[--sp]
#define PUSH(v) st[sp++] = (v)
#define HANDLE_OK(h) ((h) >= 1 && (h) < mlen && mk[h] == 1)

    /* Threaded dispatch: each handler ends by jumping straight to the next
       one (labels as values, GNU C; so do the overflow builtins). */
    static const void *const labels[] = {OPCODES(AS_LABEL) FUSED(AS_LABEL2)};
    const Ins *ins = NULL;
    int64_t a, x, y, r;
    int64_t stop = tracing ? 0 : max_steps < CHUNK ? max_steps : CHUNK;

#define NEXT                       \
    do {                           \
        if (steps >= stop)         \
            goto checkpoint;       \
        ins = &code[pc++];         \
        a = ins->a;                \
        steps++;                   \
        goto *labels[ins->op];     \
    } while (0)

    NEXT;
/* A traced step: the state after the instruction at `at`. */
#define RECORD(at)                                                                  \
    do {                                                                            \
        Py_ssize_t nloc_ = ltop - lbase;                                            \
        RESERVE(tr, trcap, ntr + 1);                                                \
        RESERVE(tv, tvcap, ntv + nloc_ + 1);                                        \
        tr[ntr].pc = (at);                                                          \
        tr[ntr].has_top = sp > 0;                                                   \
        tr[ntr].top = sp > 0 ? st[sp - 1] : 0;                                      \
        tr[ntr].off = ntv;                                                          \
        tr[ntr].len = nloc_;                                                        \
        ntr++;                                                                      \
        if (nloc_)                                                                  \
            memcpy(tv + ntv, lv + lbase, (size_t)nloc_ * sizeof(int64_t));          \
        ntv += nloc_;                                                               \
    } while (0)

checkpoint: /* the step limit; every CHUNK steps a look for signals; every step when tracing */
    if (tracing && ins != NULL)
        RECORD(ins - code); /* a traced run stops here after every step, so no pair is fused */
    if (steps >= max_steps) {
        if (pc < n) {
            fault = F_step_limit;
            fpc = pc;
        }
        goto finish;
    }
    if ((!tracing || steps % CHUNK == 0) && PyErr_CheckSignals() < 0)
        goto done;
    if (tracing)
        stop = steps + 1;
    else
        stop = max_steps - steps > CHUNK ? steps + CHUNK : max_steps;
    NEXT;

    /* stack */
    L_nop:
        NEXT;
    L_push:
        PUSH(a);
        NEXT;
    L_pop:
        sp--;
        NEXT;
    L_dup:
        st[sp] = st[sp - 1];
        sp++;
        NEXT;
    L_dup2:
        st[sp] = st[sp - 2];
        st[sp + 1] = st[sp - 1];
        sp += 2;
        NEXT;
    L_swap:
        x = st[sp - 1];
        st[sp - 1] = st[sp - 2];
        st[sp - 2] = x;
        NEXT;
    L_over:
        st[sp] = st[sp - 2];
        sp++;
        NEXT;
    L_rot:
        x = st[sp - 3];
        st[sp - 3] = st[sp - 2];
        st[sp - 2] = st[sp - 1];
        st[sp - 1] = x;
        NEXT;
    L_pick:
        st[sp] = st[sp - 1 - a];
        sp++;
        NEXT;
    /* locals and globals */
    L_enter: {
        Py_ssize_t have = ltop - lbase;
        if (a > have) {
            if (sp + ltop + (a - have) + dmax > max_stack)
                FAIL(stack_limit);
            RESERVE(lv, lcap, lbase + a);
            memset(lv + ltop, 0, (size_t)(a - have) * sizeof(int64_t));
        }
        ltop = lbase + a;
        if (nfr == 0)
            gn = ltop;
        NEXT;
    }
    L_load:
        if (a >= ltop - lbase)
            FAIL2(bad_local, a, ltop - lbase);
        PUSH(lv[lbase + a]);
        NEXT;
    L_store:
        x = POP;
        if (a >= ltop - lbase)
            FAIL2(bad_local, a, ltop - lbase);
        lv[lbase + a] = x;
        NEXT;
    L_incl:
        if (a >= ltop - lbase)
            FAIL2(bad_local, a, ltop - lbase);
        x = lv[lbase + a];
        if (__builtin_add_overflow(x, ins->b, &r))
            FAIL2(overflow, x, ins->b);
        lv[lbase + a] = r;
        NEXT;
    L_gload:
        if (a >= gn)
            FAIL2(bad_global, a, gn);
        PUSH(lv[a]);
        NEXT;
    L_gstore:
        x = POP;
        if (a >= gn)
            FAIL2(bad_global, a, gn);
        lv[a] = x;
        NEXT;
    /* a binary operation on the two top values: y popped, x = TOP replaced */
#define BINARY(expr)     \
    do {                 \
        y = POP;         \
        TOP = (expr);    \
        NEXT;            \
    } while (0)
#define CHECKED(builtin)              \
    do {                              \
        y = POP;                      \
        x = TOP;                      \
        if (builtin(x, y, &r))        \
            FAIL2(overflow, x, y);    \
        TOP = r;                      \
        NEXT;                         \
    } while (0)
    /* arithmetic */
    L_add:
        CHECKED(__builtin_add_overflow);
    L_sub:
        CHECKED(__builtin_sub_overflow);
    L_mul:
        CHECKED(__builtin_mul_overflow);
    L_divt:
        y = POP;
        x = TOP;
        if (y == 0)
            FAIL(division_by_zero);
        if (y == -1) {
            if (x == INT64_MIN)
                FAIL2(overflow, x, y);
            TOP = -x;
        } else
            TOP = x / y; /* C division truncates toward zero */
        NEXT;
    L_modt:
        y = POP;
        x = TOP;
        if (y == 0)
            FAIL(division_by_zero);
        TOP = y == -1 ? 0 : x % y; /* the sign of x */
        NEXT;
    L_divf:
        y = POP;
        x = TOP;
        if (y == 0)
            FAIL(division_by_zero);
        if (y == -1) {
            if (x == INT64_MIN)
                FAIL2(overflow, x, y);
            TOP = -x;
        } else {
            r = x / y;
            if (x % y != 0 && ((x < 0) != (y < 0)))
                r--;
            TOP = r;
        }
        NEXT;
    L_modf:
        y = POP;
        x = TOP;
        if (y == 0)
            FAIL(division_by_zero);
        r = y == -1 ? 0 : x % y;
        if (r != 0 && ((r < 0) != (y < 0)))
            r += y; /* the sign of y */
        TOP = r;
        NEXT;
    L_neg:
        x = TOP;
        if (x == INT64_MIN)
            FAIL2(overflow, x, 0);
        TOP = -x;
        NEXT;
    L_abs:
        x = TOP;
        if (x == INT64_MIN)
            FAIL2(overflow, x, 0);
        TOP = x < 0 ? -x : x;
        NEXT;
    L_pow:
        y = POP;
        x = TOP;
        if (y < 0)
            FAIL1(negative_exponent, y);
        if (x == 0 || x == 1)
            r = y == 0 ? 1 : x;
        else if (x == -1)
            r = (y & 1) ? -1 : 1;
        else if (y > 63)
            FAIL2(pow_overflow, x, y);
        else {
            /* |x| >= 2: |x|**k grows with k, so an overflow on the way
               means the final result overflows too */
            r = 1;
            for (int64_t k = 0; k < y; k++)
                if (__builtin_mul_overflow(r, x, &r))
                    FAIL2(overflow, x, y);
        }
        TOP = r;
        NEXT;
    L_min:
        y = POP;
        if (y < TOP)
            TOP = y;
        NEXT;
    L_max:
        y = POP;
        if (y > TOP)
            TOP = y;
        NEXT;
    L_inc:
        x = TOP;
        if (x == INT64_MAX)
            FAIL2(overflow, x, 0);
        TOP = x + 1;
        NEXT;
    L_dec:
        x = TOP;
        if (x == INT64_MIN)
            FAIL2(overflow, x, 0);
        TOP = x - 1;
        NEXT;
    /* comparison */
    L_eq:
        BINARY(TOP == y);
    L_ne:
        BINARY(TOP != y);
    L_lt:
        BINARY(TOP < y);
    L_le:
        BINARY(TOP <= y);
    L_gt:
        BINARY(TOP > y);
    L_ge:
        BINARY(TOP >= y);
    L_cmp:
        y = POP;
        x = TOP;
        TOP = (x > y) - (x < y);
        NEXT;
    L_sgn:
        x = TOP;
        TOP = (x > 0) - (x < 0);
        NEXT;
    /* logic */
    L_not:
        TOP = TOP == 0;
        NEXT;
    L_land:
        BINARY(TOP != 0 && y != 0);
    L_lor:
        BINARY(TOP != 0 || y != 0);
    /* bits (two's complement, as Python's integers behave in range) */
    L_band:
        BINARY(TOP & y);
    L_bor:
        BINARY(TOP | y);
    L_bxor:
        BINARY(TOP ^ y);
    L_bnot:
        TOP = ~TOP;
        NEXT;
    L_shl:
        y = POP;
        x = TOP;
        if (y < 0)
            FAIL1(negative_shift, y);
        if (x != 0) {
            if (y > 63)
                FAIL2(shl_overflow, x, y);
            if (y == 63) {
                if (x != -1)
                    FAIL2(overflow, x, y);
                r = INT64_MIN;
            } else if (__builtin_mul_overflow(x, (int64_t)1 << y, &r))
                FAIL2(overflow, x, y);
            TOP = r;
        }
        NEXT;
    L_shr:
        y = POP;
        if (y < 0)
            FAIL1(negative_shift, y);
        TOP = TOP >> (y > 63 ? 63 : y); /* arithmetic: floor */
        NEXT;
    /* memory */
    L_newarr: {
        x = TOP;
        if (x < 0)
            FAIL1(negative_size, x);
        Py_ssize_t h = mlen;
        if (x > max_mem - h - 3)
            FAIL(memory_limit);
        RESERVE(mem, mcap, h + 3 + x);
        RESERVE(mk, mkcap, h + 3 + x);
        mem[h] = h + 3;
        mem[h + 1] = x;
        mem[h + 2] = x;
        memset(mem + h + 3, 0, (size_t)x * sizeof(int64_t));
        mk[h] = 1;
        mk[h + 1] = mk[h + 2] = 2;
        memset(mk + h + 3, 0, (size_t)x);
        mlen = h + 3 + x;
        TOP = h;
        NEXT;
    }
/* aload of index y from the array whose handle is on the top (replaced by the element) */
#define ALOAD_TOP(y)                                  \
    do {                                              \
        x = TOP;                                      \
        if (!HANDLE_OK(x))                            \
            FAIL1(not_array, x);                      \
        if ((y) < 0 || (y) >= mem[x + 1])             \
            FAIL3(bad_index, x, (y), mem[x + 1]);     \
        TOP = mem[mem[x] + (y)];                      \
        NEXT;                                         \
    } while (0)
    L_aload:
        y = POP;
        ALOAD_TOP(y);
    L_astore: {
        int64_t v = POP;
        y = POP;
        x = POP;
        if (!HANDLE_OK(x))
            FAIL1(not_array, x);
        if (y < 0 || y >= mem[x + 1])
            FAIL3(bad_index, x, y, mem[x + 1]);
        mem[mem[x] + y] = v;
        NEXT;
    }
    L_alen:
        x = TOP;
        if (!HANDLE_OK(x))
            FAIL1(not_array, x);
        TOP = mem[x + 1];
        NEXT;
    L_apush: {
        int64_t v = POP;
        x = POP;
        if (!HANDLE_OK(x))
            FAIL1(not_array, x);
        int64_t d = mem[x], len = mem[x + 1];
        if (len == mem[x + 2]) { /* full: move to a block twice the size */
            int64_t cap = len >= 4 ? 2 * len : 4;
            Py_ssize_t nd = mlen;
            if (cap > max_mem - nd)
                FAIL(memory_limit);
            RESERVE(mem, mcap, nd + cap);
            RESERVE(mk, mkcap, nd + cap);
            memcpy(mem + nd, mem + d, (size_t)len * sizeof(int64_t));
            memset(mem + nd + len, 0, (size_t)(cap - len) * sizeof(int64_t));
            memset(mk + nd, 0, (size_t)cap);
            mlen = nd + cap;
            mem[x] = d = nd;
            mem[x + 2] = cap;
        }
        mem[d + len] = v;
        mem[x + 1] = len + 1;
        NEXT;
    }
    L_apop: {
        x = TOP;
        if (!HANDLE_OK(x))
            FAIL1(not_array, x);
        int64_t len = mem[x + 1] - 1;
        if (len < 0)
            FAIL1(empty_array, x);
        mem[x + 1] = len;
        TOP = mem[mem[x] + len];
        NEXT;
    }
    L_acopy: {
        x = TOP;
        if (!HANDLE_OK(x))
            FAIL1(not_array, x);
        int64_t d = mem[x], len = mem[x + 1];
        Py_ssize_t h = mlen;
        if (len > max_mem - h - 3)
            FAIL(memory_limit);
        RESERVE(mem, mcap, h + 3 + len);
        RESERVE(mk, mkcap, h + 3 + len);
        mem[h] = h + 3;
        mem[h + 1] = len;
        mem[h + 2] = len;
        memcpy(mem + h + 3, mem + d, (size_t)len * sizeof(int64_t));
        mk[h] = 1;
        mk[h + 1] = mk[h + 2] = 2;
        memset(mk + h + 3, 0, (size_t)len);
        mlen = h + 3 + len;
        TOP = h;
        NEXT;
    }
    L_mload:
        x = TOP;
        if (x < 1 || x >= mlen)
            FAIL1(bad_address, x);
        TOP = mem[x];
        NEXT;
    L_mstore: {
        int64_t v = POP;
        x = POP;
        if (x < 1 || x >= mlen)
            FAIL1(bad_address, x);
        if (mk[x] != 0)
            FAIL1(header_address, x);
        mem[x] = v;
        NEXT;
    }
    /* control */
    L_jmp:
        pc = a;
        NEXT;
    L_jz:
        if (st[--sp] == 0)
            pc = a;
        NEXT;
    L_jnz:
        if (st[--sp] != 0)
            pc = a;
        NEXT;
    L_call: {
        const Py_ssize_t b = ins->b;
        if (nfr >= max_depth)
            FAIL(depth_limit);
        if (sp + ltop + dmax > max_stack)
            FAIL(stack_limit);
        RESERVE(fr, frcap, nfr + 1);
        fr[nfr].ret = pc;
        fr[nfr].base = base;
        fr[nfr].lbase = lbase;
        nfr++;
        if (b) {
            RESERVE(lv, lcap, ltop + b);
            memcpy(lv + ltop, st + sp - b, (size_t)b * sizeof(int64_t));
            sp -= b;
        }
        lbase = ltop;
        ltop += b;
        base = sp;
        RESERVE(st, stcap, base + dmax + 1);
        pc = a;
        NEXT;
    }
    L_ret:
        x = POP;
        if (nfr == 0) { /* returning from the outermost frame halts */
            if (tracing)
                RECORD(pc - 1);
            goto finish;
        }
        sp = base;
        ltop = lbase;
        nfr--;
        pc = fr[nfr].ret;
        base = fr[nfr].base;
        lbase = fr[nfr].lbase;
        PUSH(x);
        NEXT;
    L_halt:
        if (pc - 1 == n)
            steps--; /* running off the end is not a step (nor traced) */
        else if (tracing)
            RECORD(pc - 1);
        goto finish;
    /* input, output and assertions */
    L_print:
        nout += a ? a : 1;
        if (nout > max_out)
            FAIL(output_limit);
        if (a) {
            RESERVE(ov, ocap, on + a);
            memcpy(ov + on, st + sp - a, (size_t)a * sizeof(int64_t));
            on += a;
            sp -= a;
        }
        RESERVE(ol, olcap, nlines + 1);
        ol[nlines++] = a;
        NEXT;
    L_read:
        if (inpos >= ninp)
            FAIL1(input_exhausted, inpos);
        PUSH(inp[inpos++]);
        NEXT;
    L_assert:
        if (st[--sp] == 0)
            FAIL1(assertion, a);
        NEXT;
    L_asserteq:
        y = POP;
        x = POP;
        if (x != y)
            FAIL3(assert_equal, a, x, y);
        NEXT;
    L_underflow:
        FAIL2(underflow, a, ins->b);

    /* fused pairs (see FUSED) */
#define ROOM_FOR_SECOND_OR(plain) \
    if (steps >= stop)            \
        goto L_##plain
    L_load__load:
        ROOM_FOR_SECOND_OR(load);
        if (a >= ltop - lbase)
            FAIL2(bad_local, a, ltop - lbase);
        PUSH(lv[lbase + a]);
        pc++;
        steps++;
        if (ins->b >= ltop - lbase)
            FAIL2(bad_local, ins->b, ltop - lbase);
        PUSH(lv[lbase + ins->b]);
        NEXT;
    L_load__push:
        ROOM_FOR_SECOND_OR(load);
        if (a >= ltop - lbase)
            FAIL2(bad_local, a, ltop - lbase);
        PUSH(lv[lbase + a]);
        pc++;
        steps++;
        PUSH(ins->b);
        NEXT;
#define LOAD_THEN_CHECKED(name, builtin)            \
    L_load__##name:                                 \
        ROOM_FOR_SECOND_OR(load);                   \
        if (a >= ltop - lbase)                      \
            FAIL2(bad_local, a, ltop - lbase);      \
        y = lv[lbase + a];                          \
        pc++;                                       \
        steps++;                                    \
        x = TOP;                                    \
        if (builtin(x, y, &r))                      \
            FAIL2(overflow, x, y);                  \
        TOP = r;                                    \
        NEXT;
    LOAD_THEN_CHECKED(add, __builtin_add_overflow)
    LOAD_THEN_CHECKED(sub, __builtin_sub_overflow)
    L_inc__aload:
        ROOM_FOR_SECOND_OR(inc);
        y = TOP;
        if (y == INT64_MAX)
            FAIL2(overflow, y, 0);
        y++;
        sp--;
        pc++;
        steps++;
        ALOAD_TOP(y);
#define COMPARE_AND_BRANCH(name, test)       \
    L_##name##__jz:                          \
        ROOM_FOR_SECOND_OR(name);            \
        y = POP;                             \
        x = POP;                             \
        pc++;                                \
        steps++;                             \
        if (!(x test y))                     \
            pc = a;                          \
        NEXT;                                \
    L_##name##__jnz:                         \
        ROOM_FOR_SECOND_OR(name);            \
        y = POP;                             \
        x = POP;                             \
        pc++;                                \
        steps++;                             \
        if (x test y)                        \
            pc = a;                          \
        NEXT;
    COMPARE_AND_BRANCH(eq, ==)
    COMPARE_AND_BRANCH(ne, !=)
    COMPARE_AND_BRANCH(lt, <)
    COMPARE_AND_BRANCH(le, <=)
    COMPARE_AND_BRANCH(gt, >)
    COMPARE_AND_BRANCH(ge, >=)

finish: {
    PyObject *outputs = build_outputs(ov, ol, nlines);
    if (outputs == NULL)
        goto done;
    PyObject *values = PyTuple_New(nvals);
    if (values == NULL) {
        Py_DECREF(outputs);
        goto done;
    }
    for (int i = 0; i < nvals; i++) {
        PyObject *v = PyLong_FromLongLong(vals[i]);
        if (v == NULL) {
            Py_DECREF(outputs);
            Py_DECREF(values);
            goto done;
        }
        PyTuple_SET_ITEM(values, i, v);
    }
    PyObject *taken = Py_NewRef(Py_None);
    if (tracing) {
        Py_DECREF(taken);
        taken = build_trace(tr, ntr, tv);
        if (taken == NULL) {
            Py_DECREF(outputs);
            Py_DECREF(values);
            goto done;
        }
    }
    result = Py_BuildValue("(inLNNN)", fault, fpc, (long long)steps, outputs, values, taken);
    goto done;
}
nomem:
    PyErr_NoMemory();
done:
    PyMem_Free(st);
    PyMem_Free(lv);
    PyMem_Free(mem);
    PyMem_Free(mk);
    PyMem_Free(ov);
    PyMem_Free(ol);
    PyMem_Free(fr);
    PyMem_Free(inp);
    PyMem_Free(tr);
    PyMem_Free(tv);
    return result;
}

/* Opcodes and jump targets of packed code (n instructions + the halt sentinel) in range:
   checked once by pack(), so execute() trusts what it is given. */
static int
check_packed(const Ins *code, int64_t n)
{
    for (int64_t i = 0; i <= n; i++) {
        int64_t op = code[i].op;
        if (op < 0 || op >= N_OPCODES) {
            PyErr_Format(PyExc_ValueError, "pack(): bad opcode at pc %lld", (long long)i);
            return -1;
        }
        int64_t kind = op < N_PLAIN ? op : fused_second[op - N_PLAIN];
        int jumps = kind == OP_jmp || kind == OP_jz || kind == OP_jnz || kind == OP_call;
        if (jumps && (code[i].a < 0 || code[i].a > n)) {
            PyErr_Format(PyExc_ValueError, "pack(): bad instruction at pc %lld", (long long)i);
            return -1;
        }
    }
    return 0;
}

PyDoc_STRVAR(pack_doc,
"pack(code, trans, nargs, fused)\n"
"--\n\n"
"The decoded code (a list of (op, a, b) tuples of ISA codes, halt sentinel\n"
"included) as execute() reads it. trans maps an ISA code to this module's\n"
"opcode and nargs gives its operand count (both bytes of int64, one per\n"
"ISA code and the underflow pseudo-op); fused is an int64 matrix over pairs\n"
"of ISA codes giving the fused opcode, or -1.");

static PyObject *
pack(PyObject *self, PyObject *const *args, Py_ssize_t nargs_given)
{
    (void)self;
    if (nargs_given != 4 || !PyList_Check(args[0]) || !PyBytes_Check(args[1]) || !PyBytes_Check(args[2])
        || !PyBytes_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "pack(code: list, trans: bytes, nargs: bytes, fused: bytes)");
        return NULL;
    }
    const int64_t *trans = (const int64_t *)PyBytes_AS_STRING(args[1]);
    const int64_t *nargs = (const int64_t *)PyBytes_AS_STRING(args[2]);
    const int64_t *fused = (const int64_t *)PyBytes_AS_STRING(args[3]);
    Py_ssize_t ncodes = PyBytes_GET_SIZE(args[1]) / (Py_ssize_t)sizeof(int64_t);
    if (PyBytes_GET_SIZE(args[2]) != ncodes * (Py_ssize_t)sizeof(int64_t)
        || PyBytes_GET_SIZE(args[3]) != ncodes * ncodes * (Py_ssize_t)sizeof(int64_t)) {
        PyErr_SetString(PyExc_ValueError, "pack(): tables of inconsistent sizes");
        return NULL;
    }
    PyObject *code = args[0];
    Py_ssize_t len = PyList_GET_SIZE(code);
    PyObject *out = PyBytes_FromStringAndSize(NULL, len * (Py_ssize_t)sizeof(Ins));
    if (out == NULL)
        return NULL;
    Ins *dst = (Ins *)PyBytes_AS_STRING(out);
    int64_t op = 0, a = 0, b = 0; /* the current instruction, then the next */
    for (Py_ssize_t pc = 0; pc <= len; pc++) {
        int64_t op2 = -1, a2 = 0, b2 = 0;
        if (pc < len) {
            PyObject *t = PyList_GET_ITEM(code, pc);
            if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 3 || as_int64(PyTuple_GET_ITEM(t, 0), &op2) < 0
                || as_int64(PyTuple_GET_ITEM(t, 1), &a2) < 0 || as_int64(PyTuple_GET_ITEM(t, 2), &b2) < 0)
                goto bad;
            if (op2 < 0 || op2 >= ncodes)
                goto bad;
        }
        if (pc > 0) {
            Ins *ins = &dst[pc - 1];
            int64_t both = (pc < len) ? fused[op * ncodes + op2] : -1;
            if (both >= 0) { /* the operands of both, in order */
                int64_t operands[4] = {0, 0, 0, 0};
                int k = 0;
                if (nargs[op] > 0) operands[k++] = a;
                if (nargs[op] > 1) operands[k++] = b;
                if (nargs[op2] > 0) operands[k++] = a2;
                if (nargs[op2] > 1) operands[k++] = b2;
                ins->op = both;
                ins->a = operands[0];
                ins->b = operands[1];
            } else {
                ins->op = trans[op];
                ins->a = a;
                ins->b = b;
            }
        }
        op = op2;
        a = a2;
        b = b2;
    }
    if (len > 0 && check_packed(dst, len - 1) < 0) {
        Py_DECREF(out);
        return NULL;
    }
    return out;
bad:
    Py_DECREF(out);
    if (!PyErr_Occurred())
        PyErr_SetString(PyExc_ValueError, "pack(): code must hold (op, a, b) tuples of known opcodes");
    return NULL;
}

PyDoc_STRVAR(analyze_doc,
"analyze(code, pops, pushes, flow, call, print, pick)\n"
"--\n\n"
"The stack-depth analysis of verify.py, for code whose operands were checked\n"
"(a list of (op, a, b) tuples of ISA codes, no sentinel). pops, pushes and\n"
"flow are verify.py's tables (bytes of int64 per ISA code); call, print and\n"
"pick are those opcodes. Returns (max_depth, ((pc, need, depth), ...)) for\n"
"the pcs that underflow, or None when the program is malformed: then the\n"
"reference analysis runs and says why. It follows the same work list in the\n"
"same order, so its results are the reference's.");

static PyObject *
analyze(PyObject *self, PyObject *const *args, Py_ssize_t nargs_given)
{
    (void)self;
    if (nargs_given != 7 || !PyList_Check(args[0]) || !PyBytes_Check(args[1]) || !PyBytes_Check(args[2])
        || !PyBytes_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "analyze(code: list, pops, pushes, flow: bytes, call, print, pick)");
        return NULL;
    }
    const int64_t *pops_t = (const int64_t *)PyBytes_AS_STRING(args[1]);
    const int64_t *pushes_t = (const int64_t *)PyBytes_AS_STRING(args[2]);
    const int64_t *flow_t = (const int64_t *)PyBytes_AS_STRING(args[3]);
    Py_ssize_t ncodes = PyBytes_GET_SIZE(args[1]) / (Py_ssize_t)sizeof(int64_t);
    if (PyBytes_GET_SIZE(args[2]) != PyBytes_GET_SIZE(args[1])
        || PyBytes_GET_SIZE(args[3]) != PyBytes_GET_SIZE(args[1])) {
        PyErr_SetString(PyExc_ValueError, "analyze(): tables of different sizes");
        return NULL;
    }
    int64_t op_call, op_print, op_pick;
    if (as_int64(args[4], &op_call) < 0 || as_int64(args[5], &op_print) < 0 || as_int64(args[6], &op_pick) < 0)
        return NULL;
    PyObject *code = args[0];
    const Py_ssize_t n = PyList_GET_SIZE(code);
    PyObject *result = NULL;
    Ins *ins = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(Ins));
    int64_t *depth = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(int64_t));
    int64_t *need_at = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(int64_t));
    Py_ssize_t *work = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(Py_ssize_t));
    unsigned char *entry = PyMem_Calloc((size_t)(n ? n : 1), 1);
    if (ins == NULL || depth == NULL || need_at == NULL || work == NULL || entry == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t pc = 0; pc < n; pc++) {
        PyObject *t = PyList_GET_ITEM(code, pc);
        if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 3 || as_int64(PyTuple_GET_ITEM(t, 0), &ins[pc].op) < 0
            || as_int64(PyTuple_GET_ITEM(t, 1), &ins[pc].a) < 0 || as_int64(PyTuple_GET_ITEM(t, 2), &ins[pc].b) < 0)
            goto bad_input;
        if (ins[pc].op < 0 || ins[pc].op >= ncodes)
            goto bad_input;
        depth[pc] = -1;
        need_at[pc] = -1;
    }
    for (Py_ssize_t pc = 0; pc < n; pc++)
        if (ins[pc].op == op_call && ins[pc].a >= 0 && ins[pc].a < n)
            entry[ins[pc].a] = 1;
    if (n > 0)
        entry[0] = 1;
    int64_t max_depth = 0;
    for (Py_ssize_t e = 0; e < n; e++) { /* the entries in ascending order, as sorted() gives them */
        if (!entry[e])
            continue;
        if (depth[e] != -1 && depth[e] != 0)
            goto malformed;
        if (depth[e] == 0)
            continue;
        depth[e] = 0;
        Py_ssize_t top = 0;
        work[top++] = e;
        while (top > 0) {
            Py_ssize_t pc = work[--top];
            int64_t d = depth[pc];
            for (;;) { /* straight-line code without the work list */
                const int64_t op = ins[pc].op, a = ins[pc].a, b = ins[pc].b;
                int64_t pops = pops_t[op], need;
                if (pops < 0) { /* call, print */
                    pops = op == op_call ? b : a;
                    need = pops;
                } else
                    need = op == op_pick ? a + 1 : pops;
                if (d < need) {
                    need_at[pc] = need;
                    break;
                }
                d = d - pops + pushes_t[op];
                if (d > max_depth)
                    max_depth = d;
                const int64_t flow = flow_t[op];
                Py_ssize_t next;
                if (flow == 3)
                    break;
                if (flow == 2) { /* branch: the target goes on the work list */
                    if (a < n) {
                        if (depth[a] == -1) {
                            depth[a] = d;
                            work[top++] = (Py_ssize_t)a;
                        } else if (depth[a] != d)
                            goto malformed;
                    }
                    next = pc + 1;
                } else if (flow == 1)
                    next = (Py_ssize_t)a;
                else
                    next = pc + 1;
                if (next >= n)
                    break;
                if (depth[next] == -1) {
                    depth[next] = d;
                    pc = next;
                } else if (depth[next] != d)
                    goto malformed;
                else
                    break;
            }
        }
    }
    {
        Py_ssize_t count = 0;
        for (Py_ssize_t pc = 0; pc < n; pc++)
            count += need_at[pc] >= 0;
        PyObject *under = PyTuple_New(count);
        if (under == NULL)
            goto done;
        Py_ssize_t k = 0;
        for (Py_ssize_t pc = 0; pc < n; pc++) {
            if (need_at[pc] < 0)
                continue;
            PyObject *item = Py_BuildValue("(nLL)", pc, (long long)need_at[pc], (long long)depth[pc]);
            if (item == NULL) {
                Py_DECREF(under);
                goto done;
            }
            PyTuple_SET_ITEM(under, k++, item);
        }
        result = Py_BuildValue("(LN)", (long long)max_depth, under);
    }
    goto done;
malformed:
    result = Py_NewRef(Py_None);
    goto done;
bad_input:
    if (!PyErr_Occurred())
        PyErr_SetString(PyExc_ValueError, "analyze(): code must hold (op, a, b) tuples of known opcodes");
done:
    PyMem_Free(ins);
    PyMem_Free(depth);
    PyMem_Free(need_at);
    PyMem_Free(work);
    PyMem_Free(entry);
    return result;
}

/* Operand kinds, as run_flat's `kinds` table gives them per ISA code and operand (isa.Operand + 1; 0: none). */
enum { K_NONE, K_INT, K_SLOT, K_TARGET, K_COUNT, K_ID };
#define MAX_SLOT ((int64_t)1 << 16) /* program.py's MAX_SLOT */

/* 0 when every entry of `code` is (op, a, b) with a known op and operands of
   their kinds (program.py's operand_error; targets within 0..n), else -1
   (with or without an exception set). */
static int
check_flat(PyObject *code, const int64_t *kinds, Py_ssize_t ncodes)
{
    Py_ssize_t n = PyList_GET_SIZE(code);
    for (Py_ssize_t pc = 0; pc < n; pc++) {
        PyObject *t = PyList_GET_ITEM(code, pc);
        int64_t v[3];
        if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 3)
            return -1;
        for (int i = 0; i < 3; i++) {
            PyObject *x = PyTuple_GET_ITEM(t, i);
            if (!PyLong_Check(x) || as_int64(x, &v[i]) < 0)
                return -1;
        }
        if (v[0] < 0 || v[0] >= ncodes)
            return -1;
        for (int i = 0; i < 2; i++) {
            int64_t x = v[i + 1];
            switch (kinds[v[0] * 2 + i]) {
            case K_NONE: if (x != 0) return -1; break;
            case K_INT: break;
            case K_SLOT:
            case K_COUNT: if (x < 0 || x >= MAX_SLOT) return -1; break;
            case K_TARGET: if (x < 0 || x > n) return -1; break;
            default: if (x < 0) return -1; break;
            }
        }
    }
    return 0;
}

PyDoc_STRVAR(run_flat_doc,
"run_flat(code, kinds, analysis, packing, halt, inputs, max_steps, max_stack, max_call_depth, max_memory, max_output)\n"
"--\n\n"
"Check the operands of flat code (a list of (op, a, b) tuples of ISA codes,\n"
"no sentinel; kinds: bytes of int64, two per ISA instruction, Operand + 1\n"
"or 0 for none),\n"
"then analyze (analysis: its six tables), append `halt`, pack (packing:\n"
"trans, nargs, fused) and execute, in one call. Returns False when an operand\n"
"is bad (the caller says which), None when the analysis rejects the code,\n"
"finds an underflow or a depth over max_stack, else execute()'s result.");

static PyObject *
run_flat(PyObject *self, PyObject *const *args, Py_ssize_t nargs_given)
{
    if (nargs_given != 11 || !PyList_Check(args[0]) || !PyBytes_Check(args[1]) || !PyTuple_Check(args[2])
        || PyTuple_GET_SIZE(args[2]) != 6 || !PyTuple_Check(args[3]) || PyTuple_GET_SIZE(args[3]) != 3
        || !PyTuple_Check(args[5])) {
        PyErr_SetString(PyExc_TypeError,
                        "run_flat(code: list, kinds: bytes, analysis: tuple, packing: tuple, halt, inputs: tuple, 5 limits)");
        return NULL;
    }
    PyObject *code = args[0];
    Py_ssize_t ncodes = PyBytes_GET_SIZE(args[1]) / (Py_ssize_t)(2 * sizeof(int64_t));
    if (check_flat(code, (const int64_t *)PyBytes_AS_STRING(args[1]), ncodes) < 0) {
        if (PyErr_Occurred())
            PyErr_Clear();
        Py_RETURN_FALSE;
    }
    PyObject *analysis[7] = {code};
    for (int i = 0; i < 6; i++)
        analysis[i + 1] = PyTuple_GET_ITEM(args[2], i);
    PyObject *an = analyze(self, analysis, 7);
    if (an == NULL || an == Py_None)
        return an;
    int64_t depth, max_stack;
    if (as_int64(PyTuple_GET_ITEM(an, 0), &depth) < 0 || as_int64(args[7], &max_stack) < 0) {
        Py_DECREF(an);
        return NULL;
    }
    int refuse = PyTuple_GET_SIZE(PyTuple_GET_ITEM(an, 1)) > 0 || depth > max_stack;
    PyObject *depth_obj = Py_NewRef(PyTuple_GET_ITEM(an, 0));
    Py_DECREF(an);
    if (refuse) {
        Py_DECREF(depth_obj);
        Py_RETURN_NONE;
    }
    Py_ssize_t n = PyList_GET_SIZE(code);
    PyObject *n_obj = PyLong_FromSsize_t(n);
    if (n_obj == NULL || PyList_Append(code, args[4]) < 0) {
        Py_XDECREF(n_obj);
        Py_DECREF(depth_obj);
        return NULL;
    }
    PyObject *packing[4] = {code, PyTuple_GET_ITEM(args[3], 0), PyTuple_GET_ITEM(args[3], 1),
                            PyTuple_GET_ITEM(args[3], 2)};
    PyObject *packed = pack(self, packing, 4);
    PyObject *result = NULL;
    if (packed != NULL) {
        PyObject *run[10] = {packed, n_obj, depth_obj, args[5], args[6], args[7], args[8], args[9], args[10],
                             Py_False};
        result = execute(self, run, 10);
        Py_DECREF(packed);
    }
    Py_DECREF(n_obj);
    Py_DECREF(depth_obj);
    return result;
}

static PyMethodDef methods[] = {
    {"execute", (PyCFunction)(void (*)(void))execute, METH_FASTCALL, execute_doc},
    {"pack", (PyCFunction)(void (*)(void))pack, METH_FASTCALL, pack_doc},
    {"analyze", (PyCFunction)(void (*)(void))analyze, METH_FASTCALL, analyze_doc},
    {"run_flat", (PyCFunction)(void (*)(void))run_flat, METH_FASTCALL, run_flat_doc},
    {NULL, NULL, 0, NULL},
};

static PyObject *
names_tuple(const char *const *names, int count)
{
    PyObject *t = PyTuple_New(count);
    if (t == NULL)
        return NULL;
    for (int i = 0; i < count; i++) {
        PyObject *s = PyUnicode_FromString(names[i]);
        if (s == NULL) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, s);
    }
    return t;
}

static int
add_names(PyObject *module, const char *attr, const char *const *names, int count)
{
    PyObject *t = names_tuple(names, count);
    if (t == NULL)
        return -1;
    int rc = PyModule_AddObjectRef(module, attr, t);
    Py_DECREF(t);
    return rc;
}

static int
exec_module(PyObject *module)
{
    if (add_names(module, "OPCODE_NAMES", opcode_names, N_PLAIN) < 0)
        return -1;
    if (add_names(module, "FAULT_NAMES", fault_names, N_FAULTS) < 0)
        return -1;
    if (add_names(module, "FUSED_NAMES", fused_names, N_OPCODES - N_PLAIN) < 0)
        return -1;
    if (PyModule_AddIntConstant(module, "INSTRUCTION_BYTES", (long)sizeof(Ins)) < 0)
        return -1;
    return 0;
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, exec_module},
    {0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT,
    .m_name = "cadmus.vm._cvm",
    .m_doc = "The compiled execution path of the Cadmus VM (see cadmus.vm.native).",
    .m_size = 0,
    .m_methods = methods,
    .m_slots = slots,
};

PyMODINIT_FUNC
PyInit__cvm(void)
{
    return PyModuleDef_Init(&moduledef);
}
