"""cadmus.lang: the DSL (lexer, parser, semantic checks, canonical printer, skins).

Public surface (see docs/architecture.md and docs/language.md)::

    from cadmus.lang import parse, check_semantics, to_dsl
    module = parse("x = 6 * 7\nprint(x)\n")
    check_semantics(module)
    to_dsl(module)  # "x = 6 * 7\nprint(x)\n"

Other packages import AST nodes and the lexicon by name from here
(`from cadmus.lang import BinOp, Name, KEYWORDS`), never from the modules.
"""

from cadmus.lang.ast import (
    BUILTINS,
    NODE_CLASSES,
    PYTHON_ONLY_BUILTINS,
    ArrayLit,
    Assert,
    Assign,
    AugAssign,
    BinOp,
    BinOpKind,
    BoolKind,
    BoolOp,
    Break,
    Call,
    CmpKind,
    Compare,
    Continue,
    Expr,
    ExprStmt,
    For,
    FuncDef,
    If,
    Index,
    Module,
    Name,
    Node,
    Num,
    Pass,
    Print,
    Return,
    Stmt,
    Unary,
    UnaryKind,
    While,
    const_value,
    num,
)
from cadmus.lang.c_source import to_c
from cadmus.lang.compiler import Compiled, FunctionInfo, compile_program
from cadmus.lang.errors import (
    CompileError,
    LangError,
    ParseError,
    PrintError,
    SemanticError,
    UnsupportedPython,
)
from cadmus.lang.fastpath import front_end_info
from cadmus.lang.genlang_make import generate_language, language_name
from cadmus.lang.genlang_parse import parse_generated, tokenize_generated
from cadmus.lang.genlang_print import SAMPLE_DSL, sample_text, to_generated
from cadmus.lang.genlang_spec import LanguageSpec, SpecError, check_spec, dump_spec, load_spec, spec_from_dict
from cadmus.lang.javascript import to_javascript
from cadmus.lang.lexer import tokenize
from cadmus.lang.lexicon import COMMENT, DSL_BUILTINS, INDENT, KEYWORDS, OPERATORS, PUNCTUATION
from cadmus.lang.lua import to_lua
from cadmus.lang.parser import parse, parse_expr
from cadmus.lang.printer import to_dsl
from cadmus.lang.python_front import from_python
from cadmus.lang.python_render import TRUNCATION_HELPERS, to_python
from cadmus.lang.randgen import random_program
from cadmus.lang.renderers import (
    GENERATED_PREFIX,
    RENDERERS,
    Renderer,
    generated_spec,
    get_renderer,
    is_language,
    register_renderer,
    render,
)
from cadmus.lang.semantics import check_semantics
from cadmus.lang.skins import BRACES_SKIN, DSL_SKIN, END_SKIN, SKINS, Skin
from cadmus.lang.verdict import (
    Execution,
    Verdict,
    VerdictKind,
    check,
    execute,
    fast_check,
    judge_run,
    parse_program,
)

__all__ = [
    "BRACES_SKIN",
    "BUILTINS",
    "COMMENT",
    "DSL_BUILTINS",
    "DSL_SKIN",
    "END_SKIN",
    "GENERATED_PREFIX",
    "INDENT",
    "KEYWORDS",
    "NODE_CLASSES",
    "OPERATORS",
    "PUNCTUATION",
    "PYTHON_ONLY_BUILTINS",
    "RENDERERS",
    "SAMPLE_DSL",
    "SKINS",
    "TRUNCATION_HELPERS",
    "ArrayLit",
    "Assert",
    "Assign",
    "AugAssign",
    "BinOp",
    "BinOpKind",
    "BoolKind",
    "BoolOp",
    "Break",
    "Call",
    "CmpKind",
    "Compare",
    "CompileError",
    "Compiled",
    "Continue",
    "Execution",
    "Expr",
    "ExprStmt",
    "For",
    "FuncDef",
    "FunctionInfo",
    "If",
    "Index",
    "LangError",
    "LanguageSpec",
    "Module",
    "Name",
    "Node",
    "Num",
    "ParseError",
    "Pass",
    "Print",
    "PrintError",
    "Renderer",
    "Return",
    "SemanticError",
    "Skin",
    "SpecError",
    "Stmt",
    "Unary",
    "UnaryKind",
    "UnsupportedPython",
    "Verdict",
    "VerdictKind",
    "While",
    "check",
    "check_semantics",
    "check_spec",
    "compile_program",
    "const_value",
    "dump_spec",
    "execute",
    "fast_check",
    "from_python",
    "front_end_info",
    "generate_language",
    "generated_spec",
    "get_renderer",
    "is_language",
    "judge_run",
    "language_name",
    "load_spec",
    "num",
    "parse",
    "parse_expr",
    "parse_generated",
    "parse_program",
    "random_program",
    "register_renderer",
    "render",
    "sample_text",
    "spec_from_dict",
    "to_c",
    "to_dsl",
    "to_generated",
    "to_javascript",
    "to_lua",
    "to_python",
    "tokenize",
    "tokenize_generated",
]
