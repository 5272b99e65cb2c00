/*
 * cadmus.lang._cdsl: a compiled front end for straight-line DSL text.
 *
 * It reads the commonest programs Cadmus judges (assignments, augmented
 * assignments, asserts and prints of integer expressions, one statement per
 * line, no blocks) and emits exactly the code `compiler.py` emits for them,
 * as (op, a, b) triples in the ISA's codes. It is an accelerator, not a
 * second definition of the language: whatever it is not sure of (a construct
 * outside its subset, a comment, a blank or indented line, a name that is
 * not definitely assigned, anything the reference would report as an
 * error) makes `compile` return None, and the caller takes the reference
 * path (lexer.py, parser.py, semantics.py, compiler.py), which then also
 * writes the error. Tests compare its code with the reference compiler's on
 * generated programs of every shape it accepts.
 *
 * What it takes from Python (`setup`, called once by fastpath.py), so that
 * the ISA table and the lexicon stay the one source of those facts:
 *   - the ISA codes of the instructions it emits, in the order of `OPS`;
 *   - the reserved words: the keywords and the builtins' names.
 *
 * The subset, in the reference grammar's terms (parser.py):
 *   statement  NAME '=' expr | NAME augop expr | 'assert' expr
 *              | 'print' '(' [expr (',' expr)*] ')'
 *   augop      '+=' '-=' '*=' '/=' '%=' '&=' '|=' '^=' '<<=' '>>='
 *   expr       precedence climbing over  == != < <= > >= (4, not chained),
 *              | (5), ^ (6), & (7), << >> (8), + - (9), * / % (10),
 *              unary - ~ (11)
 *   atom       NAME (not called, not indexed) | NUM | '(' expr ')'
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

/* ---- what Python tells us once --------------------------------------------- */

enum {
    I_PUSH, I_LOAD, I_STORE, I_ENTER, I_HALT, I_ADD, I_SUB, I_MUL, I_DIVT, I_MODT, I_NEG,
    I_EQ, I_NE, I_LT, I_LE, I_GT, I_GE, I_ASSERT, I_ASSERTEQ, I_PRINT, I_INCL,
    I_BAND, I_BOR, I_BXOR, I_SHL, I_SHR, I_BNOT, N_OPS
};
static const char *const op_names[N_OPS] = {
    "push", "load", "store", "enter", "halt", "add", "sub", "mul", "divt", "modt", "neg",
    "eq", "ne", "lt", "le", "gt", "ge", "assert", "asserteq", "print", "incl",
    "band", "bor", "bxor", "shl", "shr", "bnot",
};
static long long codes[N_OPS];
static int configured = 0;

#define MAX_RESERVED 64
#define MAX_WORD 16
static char reserved[MAX_RESERVED][MAX_WORD];
static int n_reserved = 0;

/* Limits of the subset: past them, the reference path decides. */
#define MAX_TOKENS 256  /* per line */
#define MAX_NODES 512   /* per statement */
#define MAX_DEPTH 64    /* expression nesting */
#define MAX_NAMES 64    /* variables */
#define MAX_NAME_LEN 64
#define INT_MAX64 INT64_MAX

/* ---- tokens ------------------------------------------------------------------ */

enum {
    T_END, T_NAME, T_NUM, T_ASSERT, T_PRINT,
    T_ASSIGN, T_AUG_ADD, T_AUG_SUB, T_AUG_MUL, T_AUG_DIV, T_AUG_MOD,
    T_AUG_BAND, T_AUG_BOR, T_AUG_BXOR, T_AUG_SHL, T_AUG_SHR, /* T_ASSIGN..T_AUG_SHR: assignments */
    T_ADD, T_SUB, T_MUL, T_DIV, T_MOD, T_BAND, T_BOR, T_BXOR, T_SHL, T_SHR, T_INV,
    T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE,
    T_LPAREN, T_RPAREN, T_COMMA,
};

typedef struct {
    int kind;
    const char *s; /* names: the text */
    int len;
    int64_t value; /* numbers */
} Tok;

/* Statement-level failure: not in the subset (or an error the reference reports). */
#define NOT_MINE (-1)

static int
is_reserved(const char *s, int len)
{
    for (int i = 0; i < n_reserved; i++)
        if ((int)strlen(reserved[i]) == len && memcmp(reserved[i], s, (size_t)len) == 0)
            return 1;
    return 0;
}

static int
is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

/* The tokens of one line (no newline in it), or NOT_MINE. Mirrors the
   reference lexer's greedy matching for every token it accepts. */
static int
lex_line(const char *s, Py_ssize_t n, Tok *toks)
{
    int nt = 0;
    Py_ssize_t i = 0;
    if (n == 0 || s[0] == ' ')
        return NOT_MINE; /* blank or indented: the reference's layout rules */
    while (i < n) {
        char c = s[i];
        if (c == ' ') {
            i++;
            continue;
        }
        if (nt >= MAX_TOKENS - 1)
            return NOT_MINE;
        Tok *t = &toks[nt++];
        t->s = s + i;
        if (is_name_start(c)) {
            Py_ssize_t j = i + 1;
            while (j < n && is_name_char(s[j]))
                j++;
            if (j - i > MAX_NAME_LEN)
                return NOT_MINE; /* before the length is narrowed to an int */
            t->len = (int)(j - i);
            if (t->len == 6 && memcmp(t->s, "assert", 6) == 0)
                t->kind = T_ASSERT;
            else if (t->len == 5 && memcmp(t->s, "print", 5) == 0)
                t->kind = T_PRINT;
            else if (is_reserved(t->s, t->len))
                return NOT_MINE;
            else
                t->kind = T_NAME;
            i = j;
            continue;
        }
        if (c >= '0' && c <= '9') {
            Py_ssize_t j = i;
            int64_t v = 0;
            while (j < n && s[j] >= '0' && s[j] <= '9') {
                if (v > (INT_MAX64 - (s[j] - '0')) / 10)
                    return NOT_MINE; /* too large: the reference's error */
                v = v * 10 + (s[j] - '0');
                j++;
            }
            if (j < n && is_name_char(s[j]))
                return NOT_MINE; /* `12ab`: an invalid literal */
            if (j - i > 1 && c == '0')
                return NOT_MINE; /* leading zeros */
            t->kind = T_NUM;
            t->value = v;
            t->len = (int)(j - i);
            i = j;
            continue;
        }
        char d = i + 1 < n ? s[i + 1] : '\0';
        char e = i + 2 < n ? s[i + 2] : '\0';
        int kind;
        int len = 1;
        if ((c == '<' || c == '>') && d == c) { /* shifts, longest first */
            len = e == '=' ? 3 : 2;
            kind = c == '<' ? (len == 3 ? T_AUG_SHL : T_SHL) : (len == 3 ? T_AUG_SHR : T_SHR);
        } else if (d == '=' && (c == '=' || c == '!' || c == '<' || c == '>' || c == '+' || c == '-' || c == '*'
                                || c == '/' || c == '%' || c == '&' || c == '|' || c == '^')) {
            len = 2;
            switch (c) {
            case '=': kind = T_EQ; break;
            case '!': kind = T_NE; break;
            case '<': kind = T_LE; break;
            case '>': kind = T_GE; break;
            case '+': kind = T_AUG_ADD; break;
            case '-': kind = T_AUG_SUB; break;
            case '*': kind = T_AUG_MUL; break;
            case '/': kind = T_AUG_DIV; break;
            case '%': kind = T_AUG_MOD; break;
            case '&': kind = T_AUG_BAND; break;
            case '|': kind = T_AUG_BOR; break;
            default: kind = T_AUG_BXOR; break;
            }
        } else {
            switch (c) {
            case '=': kind = T_ASSIGN; break;
            case '+': kind = T_ADD; break;
            case '-': kind = T_SUB; break;
            case '*': kind = T_MUL; break;
            case '/': kind = T_DIV; break;
            case '%': kind = T_MOD; break;
            case '&': kind = T_BAND; break;
            case '|': kind = T_BOR; break;
            case '^': kind = T_BXOR; break;
            case '~': kind = T_INV; break;
            case '<': kind = T_LT; break;
            case '>': kind = T_GT; break;
            case '(': kind = T_LPAREN; break;
            case ')': kind = T_RPAREN; break;
            case ',': kind = T_COMMA; break;
            default: return NOT_MINE; /* comments, brackets, other operators, tabs, ... */
            }
        }
        t->kind = kind;
        t->len = len;
        i += len;
    }
    toks[nt].kind = T_END;
    return nt;
}

/* ---- expressions: a tree, then code, as the reference does ------------------- */

enum { N_NUM, N_NAME, N_NEG, N_INV, N_BIN };

typedef struct {
    int kind;
    int op;         /* N_BIN: an I_* instruction */
    int64_t value;  /* N_NUM: the literal; N_NAME: the slot */
    int left, right;
} Node;

typedef struct {
    const Tok *toks;
    int pos;
    Node nodes[MAX_NODES];
    int nn;
    int depth;
    /* variables: name -> slot, and whether assigned yet (definite assignment) */
    const char *names[MAX_NAMES];
    int name_lens[MAX_NAMES];
    int nnames;
    int ndefined; /* slots 0..ndefined-1 are assigned before the current statement */
} Parser;

static int
slot_of(const Parser *p, const char *s, int len)
{
    for (int i = 0; i < p->nnames; i++)
        if (p->name_lens[i] == len && memcmp(p->names[i], s, (size_t)len) == 0)
            return i;
    return -1;
}

static int
new_node(Parser *p, int kind)
{
    if (p->nn >= MAX_NODES)
        return NOT_MINE;
    Node *nd = &p->nodes[p->nn];
    nd->kind = kind;
    nd->op = 0;
    nd->value = 0;
    nd->left = nd->right = -1;
    return p->nn++;
}

static int
binary_info(int kind, int *op)
{
    switch (kind) {
    case T_EQ: *op = I_EQ; return 4;
    case T_NE: *op = I_NE; return 4;
    case T_LT: *op = I_LT; return 4;
    case T_LE: *op = I_LE; return 4;
    case T_GT: *op = I_GT; return 4;
    case T_GE: *op = I_GE; return 4;
    case T_BOR: *op = I_BOR; return 5;
    case T_BXOR: *op = I_BXOR; return 6;
    case T_BAND: *op = I_BAND; return 7;
    case T_SHL: *op = I_SHL; return 8;
    case T_SHR: *op = I_SHR; return 8;
    case T_ADD: *op = I_ADD; return 9;
    case T_SUB: *op = I_SUB; return 9;
    case T_MUL: *op = I_MUL; return 10;
    case T_DIV: *op = I_DIVT; return 10;
    case T_MOD: *op = I_MODT; return 10;
    default: return 0;
    }
}

static int parse_expr(Parser *p, int min_level);

static int
parse_atom(Parser *p)
{
    const Tok *t = &p->toks[p->pos];
    int at;
    if (t->kind == T_NAME) {
        if (p->toks[p->pos + 1].kind == T_LPAREN)
            return NOT_MINE; /* a call */
        int slot = slot_of(p, t->s, t->len);
        if (slot < 0 || slot >= p->ndefined)
            return NOT_MINE; /* not definitely assigned: the reference's error */
        if ((at = new_node(p, N_NAME)) < 0)
            return NOT_MINE;
        p->nodes[at].value = slot;
        p->pos++;
        return at;
    }
    if (t->kind == T_NUM) {
        if ((at = new_node(p, N_NUM)) < 0)
            return NOT_MINE;
        p->nodes[at].value = t->value;
        p->pos++;
        return at;
    }
    if (t->kind == T_LPAREN) {
        p->pos++;
        at = parse_expr(p, 1);
        if (at < 0 || p->toks[p->pos].kind != T_RPAREN)
            return NOT_MINE;
        p->pos++;
        return at;
    }
    return NOT_MINE;
}

static int
parse_expr(Parser *p, int min_level)
{
    if (++p->depth > MAX_DEPTH)
        return NOT_MINE;
    int left;
    int unary = p->toks[p->pos].kind;
    if (unary == T_SUB || unary == T_INV) {
        p->pos++;
        int operand = parse_expr(p, 11);
        if (operand < 0 || (left = new_node(p, unary == T_SUB ? N_NEG : N_INV)) < 0)
            return NOT_MINE;
        p->nodes[left].left = operand;
    } else if ((left = parse_atom(p)) < 0) {
        return NOT_MINE;
    }
    for (;;) {
        int op;
        int level = binary_info(p->toks[p->pos].kind, &op);
        if (level == 0 || level < min_level)
            break;
        p->pos++;
        int right = parse_expr(p, level + 1);
        if (right < 0)
            return NOT_MINE;
        int node = new_node(p, N_BIN);
        if (node < 0)
            return NOT_MINE;
        p->nodes[node].op = op;
        p->nodes[node].left = left;
        p->nodes[node].right = right;
        left = node;
        if (level == 4) {
            int next_op;
            if (binary_info(p->toks[p->pos].kind, &next_op) == 4)
                return NOT_MINE; /* chained comparison: the reference's error */
        }
    }
    p->depth--;
    return left;
}

/* ---- code ---------------------------------------------------------------------- */

typedef struct {
    PyObject *list; /* of (op, a, b) */
    int failed;
} Code;

static void
emit(Code *c, int op, int64_t a, int64_t b)
{
    if (c->failed)
        return;
    PyObject *t = Py_BuildValue("(LLL)", codes[op], (long long)a, (long long)b);
    if (t == NULL || PyList_Append(c->list, t) < 0)
        c->failed = 1;
    Py_XDECREF(t);
}

static void
emit_expr(Code *c, const Parser *p, int at)
{
    const Node *nd = &p->nodes[at];
    switch (nd->kind) {
    case N_NUM:
        emit(c, I_PUSH, nd->value, 0);
        break;
    case N_NAME:
        emit(c, I_LOAD, nd->value, 0);
        break;
    case N_NEG:
        if (p->nodes[nd->left].kind == N_NUM) {
            emit(c, I_PUSH, -p->nodes[nd->left].value, 0); /* a negative constant */
        } else {
            emit_expr(c, p, nd->left);
            emit(c, I_NEG, 0, 0);
        }
        break;
    case N_INV:
        emit_expr(c, p, nd->left);
        emit(c, I_BNOT, 0, 0);
        break;
    default:
        emit_expr(c, p, nd->left);
        emit_expr(c, p, nd->right);
        emit(c, nd->op, 0, 0);
        break;
    }
}

/* The constant an augmented assignment adds (`x += 3`, `x -= -3`), as compiler.py's _const. */
static int
constant(const Parser *p, int at, int64_t *value)
{
    const Node *nd = &p->nodes[at];
    if (nd->kind == N_NUM) {
        *value = nd->value;
        return 1;
    }
    if (nd->kind == N_NEG && p->nodes[nd->left].kind == N_NUM) {
        *value = -p->nodes[nd->left].value;
        return 1;
    }
    return 0;
}

/* ---- statements ---------------------------------------------------------------- */

typedef struct {
    int kind; /* T_ASSIGN, an augmented one, T_ASSERT, T_PRINT */
    int slot;
    int expr;          /* the value, or the assert's test */
    int args[MAX_TOKENS];
    int nargs;
    int line;
} Stmt;

static int
parse_statement(Parser *p, Stmt *st)
{
    const Tok *t = p->toks;
    p->pos = 0;
    p->nn = 0;
    p->depth = 0;
    if (t[0].kind == T_ASSERT) {
        p->pos = 1;
        st->kind = T_ASSERT;
        if ((st->expr = parse_expr(p, 1)) < 0)
            return NOT_MINE;
    } else if (t[0].kind == T_PRINT) {
        if (t[1].kind != T_LPAREN)
            return NOT_MINE;
        p->pos = 2;
        st->kind = T_PRINT;
        st->nargs = 0;
        if (t[p->pos].kind != T_RPAREN) {
            for (;;) {
                if ((st->args[st->nargs++] = parse_expr(p, 1)) < 0)
                    return NOT_MINE;
                if (t[p->pos].kind != T_COMMA)
                    break;
                p->pos++;
            }
            if (t[p->pos].kind != T_RPAREN)
                return NOT_MINE;
        }
        p->pos++;
    } else if (t[0].kind == T_NAME && t[1].kind >= T_ASSIGN && t[1].kind <= T_AUG_SHR) {
        st->kind = t[1].kind;
        p->pos = 2;
        if ((st->expr = parse_expr(p, 1)) < 0)
            return NOT_MINE;
        int slot = slot_of(p, t[0].s, t[0].len);
        if (st->kind != T_ASSIGN && (slot < 0 || slot >= p->ndefined))
            return NOT_MINE; /* reads a name not assigned yet */
        if (slot < 0) {
            if (p->nnames >= MAX_NAMES)
                return NOT_MINE;
            slot = p->nnames++;
            p->names[slot] = t[0].s;
            p->name_lens[slot] = t[0].len;
        }
        st->slot = slot;
    } else {
        return NOT_MINE;
    }
    if (t[p->pos].kind != T_END)
        return NOT_MINE; /* more on the line */
    return 0;
}

static void
emit_statement(Code *c, const Parser *p, const Stmt *st, PyObject *assert_lines)
{
    int64_t k;
    switch (st->kind) {
    case T_ASSIGN:
        emit_expr(c, p, st->expr);
        emit(c, I_STORE, st->slot, 0);
        break;
    case T_ASSERT: {
        const Node *test = &p->nodes[st->expr];
        Py_ssize_t id = PyList_GET_SIZE(assert_lines);
        if (test->kind == N_BIN && test->op == I_EQ) {
            emit_expr(c, p, test->left);
            emit_expr(c, p, test->right);
            emit(c, I_ASSERTEQ, id, 0);
        } else {
            emit_expr(c, p, st->expr);
            emit(c, I_ASSERT, id, 0);
        }
        PyObject *line = PyLong_FromLong(st->line);
        if (line == NULL || PyList_Append(assert_lines, line) < 0)
            c->failed = 1;
        Py_XDECREF(line);
        break;
    }
    case T_PRINT:
        for (int i = 0; i < st->nargs; i++)
            emit_expr(c, p, st->args[i]);
        emit(c, I_PRINT, st->nargs, 0);
        break;
    default: { /* augmented: `x += k` and `x -= k` are one incl */
        static const int aug_ops[] = {I_ADD, I_SUB, I_MUL, I_DIVT, I_MODT, I_BAND, I_BOR, I_BXOR, I_SHL, I_SHR};
        int op = aug_ops[st->kind - T_AUG_ADD];
        if ((op == I_ADD || op == I_SUB) && constant(p, st->expr, &k)) {
            /* -k of INT64_MIN cannot be: literals are at most INT64_MAX, so k >= -INT64_MAX */
            emit(c, I_INCL, st->slot, op == I_SUB ? -k : k);
            break;
        }
        emit(c, I_LOAD, st->slot, 0);
        emit_expr(c, p, st->expr);
        emit(c, op, 0, 0);
        emit(c, I_STORE, st->slot, 0);
        break;
    }
    }
}

typedef struct {
    Tok toks[MAX_TOKENS];
    Parser parser;
    Stmt stmt;
} Work;

/* ---- module functions ------------------------------------------------------------ */

PyDoc_STRVAR(setup_doc,
"setup(codes, reserved)\n--\n\n"
"The ISA codes of the instructions in OPS, and the words that are not\n"
"variable names (keywords and builtins). Called once, by fastpath.py.");

static PyObject *
setup(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *code_tuple, *words;
    if (!PyArg_ParseTuple(args, "O!O!", &PyTuple_Type, &code_tuple, &PyTuple_Type, &words))
        return NULL;
    if (PyTuple_GET_SIZE(code_tuple) != N_OPS) {
        PyErr_Format(PyExc_ValueError, "setup(): %d codes expected", N_OPS);
        return NULL;
    }
    if (PyTuple_GET_SIZE(words) > MAX_RESERVED) {
        PyErr_SetString(PyExc_ValueError, "setup(): too many reserved words");
        return NULL;
    }
    for (int i = 0; i < N_OPS; i++) {
        codes[i] = PyLong_AsLongLong(PyTuple_GET_ITEM(code_tuple, i));
        if (codes[i] == -1 && PyErr_Occurred())
            return NULL;
    }
    n_reserved = 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(words); i++) {
        Py_ssize_t len;
        const char *w = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(words, i), &len);
        if (w == NULL)
            return NULL;
        if (len >= MAX_WORD) {
            PyErr_SetString(PyExc_ValueError, "setup(): a reserved word is too long");
            return NULL;
        }
        memcpy(reserved[n_reserved], w, (size_t)len + 1);
        n_reserved++;
    }
    configured = 1;
    Py_RETURN_NONE;
}

PyDoc_STRVAR(compile_doc,
"compile(text)\n--\n\n"
"The code compiler.py would emit for `text` (a list of (op, a, b)) and the\n"
"line of each assert, or None when the text is outside the subset or is not\n"
"a well-formed program (the reference path then judges it).");

static PyObject *
compile_text(PyObject *self, PyObject *arg)
{
    (void)self;
    if (!configured) {
        PyErr_SetString(PyExc_RuntimeError, "compile(): setup() was not called");
        return NULL;
    }
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "compile() needs a str");
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(arg))
        Py_RETURN_NONE;
    Py_ssize_t n = PyUnicode_GET_LENGTH(arg);
    const char *s = (const char *)PyUnicode_1BYTE_DATA(arg);
    if (n > 0 && s[n - 1] == '\n')
        n--; /* the last line's newline */
    if (n == 0)
        Py_RETURN_NONE;

    /* the work space, on the heap: a parser's nodes and tokens are a few tens of KB */
    Work *w = PyMem_Malloc(sizeof(Work));
    if (w == NULL)
        return PyErr_NoMemory();
    Tok *toks = w->toks;
    Parser *p = &w->parser;
    Stmt *st = &w->stmt;
    p->nnames = 0;
    p->ndefined = 0;
    p->toks = toks;
    Code c = {PyList_New(0), 0};
    PyObject *assert_lines = PyList_New(0);
    if (c.list == NULL || assert_lines == NULL)
        goto fail;
    /* enter m: its operand is patched once the slots are known */
    emit(&c, I_ENTER, 0, 0);
    Py_ssize_t start = 0;
    int line = 0;
    while (start <= n) {
        const char *end = memchr(s + start, '\n', (size_t)(n - start));
        Py_ssize_t stop = end ? end - s : n;
        line++;
        if (lex_line(s + start, stop - start, toks) < 0 || parse_statement(p, st) < 0)
            goto not_mine;
        st->line = line;
        emit_statement(&c, p, st, assert_lines);
        if (c.failed)
            goto fail;
        p->ndefined = p->nnames;
        start = stop + 1;
        if (end == NULL)
            break;
    }
    emit(&c, I_HALT, 0, 0);
    if (c.failed)
        goto fail;
    {
        PyObject *enter = Py_BuildValue("(LiL)", codes[I_ENTER], p->nnames, 0LL);
        if (enter == NULL)
            goto fail;
        PyList_SetItem(c.list, 0, enter); /* steals */
    }
    PyMem_Free(w);
    PyObject *lines = PyList_AsTuple(assert_lines);
    Py_DECREF(assert_lines);
    if (lines == NULL) {
        Py_DECREF(c.list);
        return NULL;
    }
    return Py_BuildValue("(NN)", c.list, lines);
not_mine:
    PyMem_Free(w);
    Py_DECREF(c.list);
    Py_DECREF(assert_lines);
    Py_RETURN_NONE;
fail:
    PyMem_Free(w);
    Py_XDECREF(c.list);
    Py_XDECREF(assert_lines);
    return NULL;
}

static PyObject *
ops_tuple(void)
{
    PyObject *t = PyTuple_New(N_OPS);
    if (t == NULL)
        return NULL;
    for (int i = 0; i < N_OPS; i++) {
        PyObject *s = PyUnicode_FromString(op_names[i]);
        if (s == NULL) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, s);
    }
    return t;
}

static PyMethodDef methods[] = {
    {"setup", setup, METH_VARARGS, setup_doc},
    {"compile", compile_text, METH_O, compile_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "cadmus.lang._cdsl",
    "A compiled front end for straight-line DSL text (see _cdsl.c).", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__cdsl(void)
{
    PyObject *m = PyModule_Create(&moduledef);
    if (m == NULL)
        return NULL;
    PyObject *ops = ops_tuple();
    if (ops == NULL || PyModule_AddObject(m, "OPS", ops) < 0) {
        Py_XDECREF(ops);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
