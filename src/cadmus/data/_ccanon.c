/*
 * cadmus.data._ccanon: the canonical form of program trees, compiled.
 *
 * A dataset build computes the canonical form of every program it samples
 * (dedup and split regions, see canon.py), and canon.py's walk over the tree
 * is a tenth of a build. This module walks the same trees and writes exactly
 * the same form: the same tokens in the same order, joined by single spaces,
 * with the same renaming (variables `v0, v1, ...`, functions `f0, ...`, in
 * order of first appearance; built-in functions keep their names). canon.py
 * stays the definition; tests compare both on the trees of every family.
 *
 * What it takes from Python (`setup`, called once by canon.py), so the AST
 * module stays the one source of the node classes and their fields:
 *   - the classes it spells out (Name, Num, BinOp, Compare, Assign, ArrayLit,
 *     Unary, FuncDef, Call, For, Assert), as a dict by name;
 *   - for every node class, its name and the fields the walk visits;
 *   - the Enum base class (operators are written as their values);
 *   - the built-in functions' names.
 * A value of any other type makes `serialize` return None, and canon.py
 * walks that tree itself (which then raises what it raises).
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <string.h>

enum { K_NAME, K_NUM, K_BINOP, K_COMPARE, K_ASSIGN, K_ARRAYLIT, K_UNARY, K_FUNCDEF, K_CALL, K_FOR, K_ASSERT, N_KINDS };
static const char *const kind_names[N_KINDS] = {
    "Name", "Num", "BinOp", "Compare", "Assign", "ArrayLit", "Unary", "FuncDef", "Call", "For", "Assert",
};
static PyTypeObject *kinds[N_KINDS];
static PyObject *node_fields;  /* dict: class -> (name, fields) */
static PyTypeObject *enum_type;
static PyObject *builtins;     /* a container of the built-in functions' names */

enum {
    A_ID, A_VALUE, A_OP, A_LEFT, A_RIGHT, A_TARGET, A_ELTS, A_OPERAND, A_NAME, A_PARAMS, A_BODY,
    A_FUNC, A_ARGS, A_VAR, A_START, A_STOP, A_STEP, A_TEST, N_ATTRS
};
static const char *const attr_names[N_ATTRS] = {
    "id", "value", "op", "left", "right", "target", "elts", "operand", "name", "params", "body",
    "func", "args", "var", "start", "stop", "step", "test",
};
static PyObject *attrs[N_ATTRS];

/* Operator members and their values: Enum's `.value` is a Python property. */
#define MAX_MEMBERS 128
static PyObject *members[MAX_MEMBERS];
static PyObject *member_values[MAX_MEMBERS];
static int n_members = 0;

/* ---- one walk --------------------------------------------------------------- */

typedef struct {
    char *buf;
    Py_ssize_t len, cap, tokens;
    int rename;
    PyObject *vars;   /* dict: name -> index */
    PyObject *funcs;
    PyObject *best;   /* the largest literal so far (a new reference) */
} Walk;

#define UNKNOWN 1  /* a value the walk does not know: canon.py walks the tree */

static int
put(Walk *w, const char *s, Py_ssize_t n)
{
    Py_ssize_t need = w->len + n + 1;
    if (need > w->cap) {
        Py_ssize_t cap = w->cap * 2 > need ? w->cap * 2 : need;
        char *grown = PyMem_Realloc(w->buf, (size_t)cap);
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        w->buf = grown;
        w->cap = cap;
    }
    if (w->tokens++ > 0)  /* " ".join: a space between any two tokens, empty ones too */
        w->buf[w->len++] = ' ';
    memcpy(w->buf + w->len, s, (size_t)n);
    w->len += n;
    return 0;
}

/* `prefix` (0 for none) and the decimal digits of v >= 0 (snprintf costs more than the rest of a token). */
static int
put_decimal(Walk *w, char prefix, unsigned long long v)
{
    char text[24];
    int i = (int)sizeof text;
    do {
        text[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    if (prefix)
        text[--i] = prefix;
    return put(w, text + i, (Py_ssize_t)sizeof text - i);
}

static int
put_str(Walk *w, const char *s)
{
    return put(w, s, (Py_ssize_t)strlen(s));
}

static int
put_unicode(Walk *w, PyObject *text)
{
    if (!PyUnicode_Check(text))
        return UNKNOWN;
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(text, &n);
    return s == NULL ? -1 : put(w, s, n);
}

/* `namer.var(name)` / `namer.func(name)`: the renamed name, or the name itself. */
static int
put_renamed(Walk *w, PyObject *name, PyObject *seen, char prefix)
{
    if (!PyUnicode_Check(name))
        return UNKNOWN;
    if (!w->rename) {
        /* A name that starts with a digit (no identifier does) may be all digits,
           which canon.py would count as a literal: let it decide. */
        if (PyUnicode_GET_LENGTH(name) > 0 && Py_UNICODE_ISDIGIT(PyUnicode_READ_CHAR(name, 0)))
            return UNKNOWN;
        return put_unicode(w, name);
    }
    if (prefix == 'f') {
        int builtin = PySequence_Contains(builtins, name);
        if (builtin < 0)
            return -1;
        if (builtin)
            return put_unicode(w, name);
    }
    PyObject *index = PyDict_GetItemWithError(seen, name);
    Py_ssize_t i;
    if (index == NULL) {
        if (PyErr_Occurred())
            return -1;
        i = PyDict_GET_SIZE(seen);
        PyObject *value = PyLong_FromSsize_t(i);
        if (value == NULL)
            return -1;
        int rc = PyDict_SetItem(seen, name, value);
        Py_DECREF(value);
        if (rc < 0)
            return -1;
    } else {
        i = PyLong_AsSsize_t(index);
    }
    return put_decimal(w, prefix, (unsigned long long)i);
}

static int
put_num(Walk *w, PyObject *value)
{
    if (!PyLong_CheckExact(value))
        return UNKNOWN;
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow < 0 || (overflow == 0 && v < 0))
        return UNKNOWN;  /* Num.value is never negative; "-5" would not count as a literal */
    int bigger = w->best == NULL ? 1 : PyObject_RichCompareBool(value, w->best, Py_GT);
    if (bigger < 0)
        return -1;
    if (bigger) {
        Py_INCREF(value);
        Py_XSETREF(w->best, value);
    }
    if (overflow == 0)
        return put_decimal(w, 0, (unsigned long long)v);
    PyObject *text = PyObject_Str(value);
    if (text == NULL)
        return -1;
    int rc = put_unicode(w, text);
    Py_DECREF(text);
    return rc;
}

static int
put_enum(Walk *w, PyObject *member)
{
    for (int i = 0; i < n_members; i++)
        if (members[i] == member)
            return put_unicode(w, member_values[i]);
    PyObject *value = PyObject_GetAttr(member, attrs[A_VALUE]);
    if (value == NULL)
        return -1;
    int rc = put_unicode(w, value);
    if (rc == 0 && n_members < MAX_MEMBERS) {
        Py_INCREF(member);
        members[n_members] = member;
        member_values[n_members++] = value;
    } else {
        Py_DECREF(value);
    }
    return rc;
}

static int walk(Walk *w, PyObject *node);

/* getattr(node, attr), walked. */
static int
walk_attr(Walk *w, PyObject *node, int attr)
{
    PyObject *value = PyObject_GetAttr(node, attrs[attr]);
    if (value == NULL)
        return -1;
    int rc = walk(w, value);
    Py_DECREF(value);
    return rc;
}

/* `namer.var(getattr(node, attr))` or `namer.func(...)`. */
static int
renamed_attr(Walk *w, PyObject *node, int attr, PyObject *seen, char prefix)
{
    PyObject *value = PyObject_GetAttr(node, attrs[attr]);
    if (value == NULL)
        return -1;
    int rc = put_renamed(w, value, seen, prefix);
    Py_DECREF(value);
    return rc;
}

static int
walk_op_and_sides(Walk *w, PyObject *node, int kind)
{
    int rc = put_str(w, kind_names[kind]);
    if (rc == 0) {
        PyObject *op = PyObject_GetAttr(node, attrs[A_OP]);
        if (op == NULL)
            return -1;
        rc = PyType_IsSubtype(Py_TYPE(op), enum_type) ? put_enum(w, op) : UNKNOWN;
        Py_DECREF(op);
    }
    if (rc == 0 && kind == K_UNARY)
        return walk_attr(w, node, A_OPERAND);
    if (rc == 0)
        rc = walk_attr(w, node, A_LEFT);
    if (rc == 0)
        rc = walk_attr(w, node, A_RIGHT);
    return rc;
}

static int
walk_items(Walk *w, PyObject *items)
{
    if (!PyTuple_Check(items))
        return UNKNOWN;
    int rc = put_str(w, "(");
    for (Py_ssize_t i = 0; rc == 0 && i < PyTuple_GET_SIZE(items); i++)
        rc = walk(w, PyTuple_GET_ITEM(items, i));
    return rc == 0 ? put_str(w, ")") : rc;
}

static int
walk_funcdef(Walk *w, PyObject *node)
{
    int rc = renamed_attr(w, node, A_NAME, w->funcs, 'f');
    if (rc != 0)
        return rc;
    PyObject *params = PyObject_GetAttr(node, attrs[A_PARAMS]);
    if (params == NULL)
        return -1;
    rc = PyTuple_Check(params) ? put_str(w, "(") : UNKNOWN;
    for (Py_ssize_t i = 0; rc == 0 && i < PyTuple_GET_SIZE(params); i++)
        rc = put_renamed(w, PyTuple_GET_ITEM(params, i), w->vars, 'v');
    Py_DECREF(params);
    if (rc == 0)
        rc = put_str(w, ")");
    return rc == 0 ? walk_attr(w, node, A_BODY) : rc;
}

static int
walk_generic(Walk *w, PyObject *node)
{
    PyObject *spec = PyDict_GetItemWithError(node_fields, (PyObject *)Py_TYPE(node));
    if (spec == NULL)
        return PyErr_Occurred() ? -1 : UNKNOWN;
    int rc = put_unicode(w, PyTuple_GET_ITEM(spec, 0));
    PyTypeObject *cls = Py_TYPE(node);
    if (rc != 0)
        return rc;
    if (cls == kinds[K_FUNCDEF])
        return walk_funcdef(w, node);
    if (cls == kinds[K_CALL]) {
        rc = renamed_attr(w, node, A_FUNC, w->funcs, 'f');
        return rc == 0 ? walk_attr(w, node, A_ARGS) : rc;
    }
    if (cls == kinds[K_FOR]) {
        static const int parts[] = {A_START, A_STOP, A_STEP, A_BODY};
        rc = renamed_attr(w, node, A_VAR, w->vars, 'v');
        for (size_t i = 0; rc == 0 && i < sizeof parts / sizeof parts[0]; i++)
            rc = walk_attr(w, node, parts[i]);
        return rc;
    }
    if (cls == kinds[K_ASSERT]) { /* its `error` (a front end's check message) is written as absent */
        rc = walk_attr(w, node, A_TEST);
        return rc == 0 ? put_str(w, "_") : rc;
    }
    PyObject *names = PyTuple_GET_ITEM(spec, 1);
    for (Py_ssize_t i = 0; rc == 0 && i < PyTuple_GET_SIZE(names); i++) {
        PyObject *value = PyObject_GetAttr(node, PyTuple_GET_ITEM(names, i));
        if (value == NULL)
            return -1;
        rc = walk(w, value);
        Py_DECREF(value);
    }
    return rc;
}

/* canon.py's `_walk`, case for case and in its order. */
static int
walk_node(Walk *w, PyObject *node)
{
    PyTypeObject *cls = Py_TYPE(node);
    if (cls == kinds[K_NAME])
        return renamed_attr(w, node, A_ID, w->vars, 'v');
    if (cls == kinds[K_NUM]) {
        PyObject *value = PyObject_GetAttr(node, attrs[A_VALUE]);
        if (value == NULL)
            return -1;
        int rc = put_num(w, value);
        Py_DECREF(value);
        return rc;
    }
    if (cls == kinds[K_BINOP])
        return walk_op_and_sides(w, node, K_BINOP);
    if (cls == kinds[K_COMPARE])
        return walk_op_and_sides(w, node, K_COMPARE);
    if (cls == kinds[K_ASSIGN]) {
        int rc = put_str(w, "Assign");
        if (rc == 0)
            rc = walk_attr(w, node, A_TARGET);
        return rc == 0 ? walk_attr(w, node, A_VALUE) : rc;
    }
    if (cls == kinds[K_ARRAYLIT]) {
        int rc = put_str(w, "ArrayLit");
        return rc == 0 ? walk_attr(w, node, A_ELTS) : rc;  /* items: Num or any node, as a tuple */
    }
    if (cls == kinds[K_UNARY])
        return walk_op_and_sides(w, node, K_UNARY);
    if (cls == &PyTuple_Type)
        return walk_items(w, node);
    if (node == Py_None)
        return put_str(w, "_");
    if (PyType_IsSubtype(cls, enum_type))
        return put_enum(w, node);
    return walk_generic(w, node);
}

static int
walk(Walk *w, PyObject *node)
{
    if (Py_EnterRecursiveCall(" while writing a canonical form"))
        return -1;
    int rc = walk_node(w, node);
    Py_LeaveRecursiveCall();
    return rc;
}

/* ---- Python interface --------------------------------------------------------- */

static PyObject *
names_in_order(PyObject *seen)
{
    PyObject *out = PyTuple_New(PyDict_GET_SIZE(seen));
    if (out == NULL)
        return NULL;
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(seen, &pos, &key, &value)) {
        Py_INCREF(key);
        PyTuple_SET_ITEM(out, PyLong_AsSsize_t(value), key);
    }
    return out;
}

PyDoc_STRVAR(serialize_doc,
"serialize(nodes, rename) -> (form, max_literal, variables, functions) | None\n\n"
"canon.py's form of `nodes` (an iterable of statements/expressions) as UTF-8\n"
"bytes, its largest integer literal (0 if none), and the user variables and\n"
"functions in order of first appearance; None where a value is not one the\n"
"walk knows (canon.py then walks the tree itself).");

static PyObject *
serialize(PyObject *self, PyObject *args)
{
    PyObject *nodes;
    int rename;
    if (!PyArg_ParseTuple(args, "Op", &nodes, &rename))
        return NULL;
    if (node_fields == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_ccanon.setup() has not been called");
        return NULL;
    }
    PyObject *seq = PySequence_Fast(nodes, "nodes must be iterable");
    if (seq == NULL)
        return NULL;
    Walk w = {NULL, 0, 0, 0, rename, PyDict_New(), PyDict_New(), NULL};
    int rc = (w.vars == NULL || w.funcs == NULL) ? -1 : 0;
    for (Py_ssize_t i = 0; rc == 0 && i < PySequence_Fast_GET_SIZE(seq); i++)
        rc = walk(&w, PySequence_Fast_GET_ITEM(seq, i));
    Py_DECREF(seq);
    PyObject *result = NULL;
    if (rc == UNKNOWN) {
        result = Py_NewRef(Py_None);
    } else if (rc == 0) {
        PyObject *form = PyBytes_FromStringAndSize(w.buf == NULL ? "" : w.buf, w.len);
        PyObject *best = w.best != NULL ? Py_NewRef(w.best) : PyLong_FromLong(0);
        PyObject *vars = names_in_order(w.vars);
        PyObject *funcs = names_in_order(w.funcs);
        if (form != NULL && best != NULL && vars != NULL && funcs != NULL)
            result = PyTuple_Pack(4, form, best, vars, funcs);
        Py_XDECREF(form);
        Py_XDECREF(best);
        Py_XDECREF(vars);
        Py_XDECREF(funcs);
    }
    PyMem_Free(w.buf);
    Py_XDECREF(w.vars);
    Py_XDECREF(w.funcs);
    Py_XDECREF(w.best);
    return result;
}

PyDoc_STRVAR(setup_doc,
"setup(classes, fields, enum_type, builtins)\n\n"
"classes: the node classes this module spells out, by name; fields: for each\n"
"node class, (its name, the fields the walk visits); enum_type: the base of\n"
"the operator enums; builtins: the built-in functions' names.");

static PyObject *classes_held; /* keeps `kinds` alive */

static PyObject *
setup(PyObject *self, PyObject *args)
{
    PyObject *classes, *fields, *base, *names;
    if (!PyArg_ParseTuple(args, "O!O!O!O", &PyDict_Type, &classes, &PyDict_Type, &fields, &PyType_Type, &base,
                          &names))
        return NULL;
    PyTypeObject *found[N_KINDS];
    for (int k = 0; k < N_KINDS; k++) {
        PyObject *cls = PyDict_GetItemString(classes, kind_names[k]);
        if (cls == NULL || !PyType_Check(cls))
            return PyErr_Format(PyExc_ValueError, "setup: no class %s", kind_names[k]);
        found[k] = (PyTypeObject *)cls;
    }
    PyObject *key, *spec;
    Py_ssize_t pos = 0;
    while (PyDict_Next(fields, &pos, &key, &spec)) {
        if (!PyTuple_Check(spec) || PyTuple_GET_SIZE(spec) != 2 || !PyUnicode_Check(PyTuple_GET_ITEM(spec, 0))
            || !PyTuple_Check(PyTuple_GET_ITEM(spec, 1)))
            return PyErr_Format(PyExc_ValueError, "setup: fields[%R] must be (name, tuple of field names)", key);
    }
    memcpy(kinds, found, sizeof kinds);
    Py_XSETREF(classes_held, Py_NewRef(classes));
    Py_XSETREF(node_fields, Py_NewRef(fields));
    Py_XSETREF(enum_type, (PyTypeObject *)Py_NewRef(base));
    Py_XSETREF(builtins, Py_NewRef(names));
    for (int i = 0; i < n_members; i++) {
        Py_DECREF(members[i]);
        Py_DECREF(member_values[i]);
    }
    n_members = 0;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"setup", setup, METH_VARARGS, setup_doc},
    {"serialize", serialize, METH_VARARGS, serialize_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "cadmus.data._ccanon",
    "The canonical form of program trees, compiled (see _ccanon.c).", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__ccanon(void)
{
    for (int i = 0; i < N_ATTRS; i++) {
        attrs[i] = PyUnicode_InternFromString(attr_names[i]);
        if (attrs[i] == NULL)
            return NULL;
    }
    return PyModule_Create(&moduledef);
}
