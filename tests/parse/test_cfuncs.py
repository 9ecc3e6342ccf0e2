"""The C analysis of one hunk, on the shapes real QEMU patches have (fixtures written for these tests)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from patchtool.parse.cfragments import close_open_scopes
from patchtool.parse.cfuncs import analyze_hunk


def rows(*lines: str) -> list[tuple[str, str]]:
    """Hunk lines as (kind, text): the first character is ' ', '+' or '-'."""
    return [(line[0], line[1:]) for line in lines]


def facts(path: str, section: str, lines: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    return [(c.name, c.kind, c.detail) for c in analyze_hunk(path, section, lines, (20, 20))]


def test_hunk_starting_at_the_opening_brace_names_the_function() -> None:
    # git put the signature in the hunk header; the hunk's first row is the function's `{`.
    lines = rows(
        " {", "     s->ready = false;", "-    s->count = 0;", "+    s->count = 1;", "     s->ok = 1;"
    )
    assert facts("hw/net/nic.c", "static void nic_reset(NicState *s)", lines) == [
        ("nic_reset", "body-changed", "")
    ]


def test_signature_split_over_two_lines_changes_return_type() -> None:
    lines = rows(
        "     s->a = 1;",
        " }",
        " ",
        "-static int",
        "+static void",
        " nic_stop(NicState *s)",
        " {",
        "     s->a = 0;",
    )
    assert facts("hw/net/nic.c", "static void nic_start(NicState *s)", lines) == [
        ("nic_stop", "signature-changed", "return type int -> void")
    ]


def test_hunk_inside_a_split_parameter_list() -> None:
    # The header holds the first half of the signature; the hunk changes its second line.
    lines = rows(
        "-                   Error **errp)",
        "+                   Error **errp, bool force)",
        " {",
        "     s->a = 0;",
    )
    assert facts("hw/net/nic.c", "static int nic_unplug(NicState *s,", lines) == [
        (
            "nic_unplug",
            "signature-changed",
            "parameters (NicState *s, Error **errp) -> (NicState *s, Error **errp, bool force)",
        )
    ]


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        # an enum's members under a packed typedef (softfloat-types.h): no function at all
        ("typedef enum __attribute__((__packed__)) {", []),
        ("static void __attribute__((unused)) nic_tick(NicState *s)", [("nic_tick", "body-changed", "")]),
    ],
)
def test_an_attribute_in_the_header_is_no_function(
    section: str, expected: list[tuple[str, str, str]]
) -> None:
    lines = rows("     NIC_MODE_A = 1,", "+    NIC_MODE_B = 2,", "     NIC_MODE_C = 4,")
    if expected:
        lines = rows("     s->ticks++;", "-    s->mode = 1;", "+    s->mode = 2;", "     s->armed = true;")
    assert facts("include/hw/nic.h", section, lines) == expected


@pytest.mark.parametrize("path", ["include/block/mirror.h", "block/mirror.c"])
def test_hunk_inside_a_split_parameter_list_that_goes_on_past_it(path: str) -> None:
    # The header holds the signature's first line and the hunk adds a parameter in the middle of
    # the list, which neither the header nor the hunk closes (a long prototype: block_int's
    # mirror_start): a signature change, not a body change of a prototype that has none.
    lines = rows(
        "                   int flags, int64_t speed,",
        "-                  bool zero_target,",
        "+                  bool zero_target, bool target_is_zero,",
        "                   BlockdevOnError on_source_error,",
        "                   BlockdevOnError on_target_error,",
    )
    section = "void mirror_begin(const char *job_id, BlockDriverState *bs,"
    assert facts(path, section, lines) == [
        ("mirror_begin", "signature-changed", "parameters changed (the list goes on past the hunk)")
    ]


@pytest.mark.parametrize("lead", [" ", "  */"])
def test_hunk_changing_the_next_functions_split_signature_names_that_function(lead: str) -> None:
    # The header is the previous function's first signature line (its parameter list continues on
    # lines the hunk does not show); the hunk starts after that function (a blank row, the end of
    # a comment) and changes the split parameter list of the next one. The header comes from the
    # old file, so only the pre-image says whether the hunk continues it: the removed and the
    # added closing rows together would close its parenthesis too.
    lines = rows(
        lead,
        " static void nic_end(NicState *s,",
        "                     Queue *q,",
        "-                    const Packet *pkt, size_t len, int slot)",
        "+                    const Packet *pkt, size_t len)",
        " {",
        "     if (!q) {",
    )
    assert facts("hw/net/nic.c", "static void nic_begin(NicState *s,", lines) == [
        (
            "nic_end",
            "signature-changed",
            "parameters (NicState *s, Queue *q, const Packet *pkt, size_t len, int slot) -> "
            "(NicState *s, Queue *q, const Packet *pkt, size_t len)",
        )
    ]


def test_a_call_closed_by_a_string_row_does_not_continue_a_split_signature_header() -> None:
    # The header is the function's own first signature line, left open by git's cut; the hunk
    # starts on the tail of a call in the body, a string and `);` (net/tap.c, fe7c0a5680): the
    # parenthesis it closes is the call's, so the hunk is inside the body the header names.
    lines = rows(
        '                        "vhost requested but could not be set up");',
        "             goto failed;",
        "         }",
        "-    } else if (vhostfdname) {",
        '-        error_setg(errp, "vhostfd(s)= is not valid without vhost");',
        "-        goto failed;",
        "     }",
        " ",
        "     return;",
    )
    section = "static void nic_init_one(const NicOptions *opts, NetClientState *peer,"
    assert facts("net/nic.c", section, lines) == [("nic_init_one", "body-changed", "")]


@pytest.mark.parametrize(
    "lines",
    [
        # entries moved, the ones kept gaining a comment: the commented rows got no `;` and were
        # read together with the rows after them as one "declaration" of DEF_OPT
        rows(
            " DEF_OPT(WIDE)",
            *(f"-DEF_OPT({name})" for name in ("FAST", "SLOW", "RED", "BLUE", "SOFT", "HARD", "DRY", "WET")),
            *(f"+DEF_OPT({name})            /* always on */" for name in ("FAST", "SLOW", "SOFT")),
            "+",
            ' DEF_OPT(LOUD) /* stop on "go 0x0" */',
            " DEF_OPT(QUIET)",
            " DEF_OPT(TINY)",
        ),
        # the last entry of the list changes: two "prototypes" of DEF_OPT with other parameters
        rows(" DEF_OPT(WIDE)", " DEF_OPT(FAST)", "-DEF_OPT(SLOW)", "+DEF_OPT(SLOWER)"),
    ],
)
def test_an_x_macro_list_is_no_function(lines: list[tuple[str, str]]) -> None:
    # A `.h.inc` of `DEF_OPT(NAME)` rows, expanded by whoever includes it, is not a list of
    # prototypes of DEF_OPT: no signature of it changes (its "callers" would all be stale).
    assert facts("target/toy/cpu-opts.h.inc", "", lines) == []


def test_function_named_only_in_the_header_is_not_changed() -> None:
    # The hunk starts inside the doc comment after that function and adds a new function.
    lines = rows("  * Old helper.", "  */", " ", "+static void nic_poll(NicState *s)", "+{", "+}", "+")
    assert facts("hw/net/nic.c", "static void nic_start(NicState *s)", lines) == [("nic_poll", "added", "")]


def test_rename_is_reported_as_a_rename() -> None:
    lines = rows(
        " }", " ", "-void nic_old_name_init(NicState *s)", "+void nic_new_name_init(NicState *s)", " {"
    )
    assert facts("hw/net/nic.c", "static void nic_a(void)", lines) == [
        ("nic_new_name_init", "renamed", "renamed from nic_old_name_init")
    ]


def test_a_renamed_prototype_is_a_prototype_rename() -> None:
    # sample AN: a header's declaration renamed, parameters kept; not a definition's rename
    lines = rows(
        " int nic_prepare(Error **errp);",
        "-int nic_state_setup(NicState *s, Error **errp);",
        "+int nic_state_do_setup(NicState *s, Error **errp);",
        " bool nic_pending(void);",
    )
    assert facts("hw/net/nic.h", "", lines) == [
        ("nic_state_do_setup", "prototype-renamed", "renamed from nic_state_setup")
    ]


def test_function_like_macro_parameters_change() -> None:
    lines = rows(
        ' #include "x.h"',
        "-#define NIC_REG(a, b) ((a) + (b))",
        "+#define NIC_REG(a, b, c) ((a) + (b) + (c))",
        " ",
    )
    assert facts("hw/net/nic.h", "", lines) == [
        ("NIC_REG", "macro-params-changed", "parameters (a, b) -> (a, b, c)")
    ]


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (
            rows(
                " struct NicClass {",
                "     int a;",
                "-    void (*reset)(Nic *n);",
                "+    void (*reset)(Nic *n, bool hard);",
                " };",
            ),
            ("NicClass", "struct-member-changed", "member reset"),
        ),
        (
            rows(" struct NicClass {", "     int a;", "+    void (*realize)(Nic *n);", " };"),
            ("NicClass", "struct-member-added", "member realize"),
        ),
        (
            # the struct opens inside the hunk and does not close in it
            rows(" ", " struct NicState {", "     int a;", "+    int c;", "     int b;"),
            ("NicState", "struct-member-added", "member c"),
        ),
    ],
)
def test_struct_members(lines: list[tuple[str, str]], expected: tuple[str, str, str]) -> None:
    assert facts("hw/net/nic.h", "", lines) == [expected]


def test_prototype_after_a_doc_comment_in_a_header() -> None:
    lines = rows(
        "  * @n: the device", "  */", "-void nic_flush(Nic *n);", "+void nic_flush(Nic *n, bool all);", " "
    )
    assert facts("include/hw/nic.h", "void nic_init(Nic *n);", lines) == [
        ("nic_flush", "signature-changed", "parameters (Nic *n) -> (Nic *n, bool all)")
    ]


def test_definition_after_the_tail_of_a_doc_comment() -> None:
    # the hunk starts inside the comment: its words (`3 - the queue has dropped frames`) are no code
    lines = rows(
        "  * 3 - the queue has dropped frames",
        "  * 9 - not supported by this model",
        "  */",
        "-static int nic_poll(int argc, char **argv)",
        "+static int nic_poll(const NicCmd *cmd, int argc, char **argv)",
        " {",
        "     int c, ret;",
    )
    assert facts("hw/net/nic.c", "static int nic_ring(NicState *s)", lines) == [
        (
            "nic_poll",
            "signature-changed",
            "parameters (int argc, char **argv) -> (const NicCmd *cmd, int argc, char **argv)",
        )
    ]


def test_hunk_starting_at_the_last_row_of_a_multi_line_define() -> None:
    # git named the function before the #define in the header; the hunk's first row is the
    # #define's last (indented, no `\`): the functions after it are the file's, not that body's
    lines = rows(
        "     (NIC_MODE_A | NIC_MODE_B)",
        " #define NIC_MODE_ALL (NIC_MODE_C)",
        " ",
        "-static bool nic_ready(NicState *s)",
        "-{",
        "-    return s->ready;",
        "-}",
        "-",
        " static void nic_go(NicState *s)",
        " {",
    )
    assert facts("hw/net/nic.c", "static int nic_mode(NicState *s,", lines) == [("nic_ready", "removed", "")]


def test_macro_invocation_without_semicolon_is_not_part_of_the_signature() -> None:
    lines = rows(
        " type_init(nic_register_types)",
        " ",
        "-void nic_init_one(Bus *b, int addr)",
        "+void nic_init_one(Bus *b, int addr, bool x)",
        " {",
    )
    (change,) = analyze_hunk("hw/net/nic.c", "", lines, (20, 20))
    assert (change.name, change.kind) == ("nic_init_one", "signature-changed")
    assert change.old_signature == "void nic_init_one(Bus *b, int addr)"


def test_hunk_inside_the_body_of_a_function_with_a_split_signature() -> None:
    # The header is the signature's first line, but the hunk is in the body, past the parameters.
    lines = rows(
        " ", "     trace_nic_add(s, n,", "                   flags);", "+    nic_kick(s);", " }", " "
    )
    assert facts("hw/net/nic.c", "static void nic_add(NicState *s,", lines) == [
        ("nic_add", "body-changed", "")
    ]


@pytest.mark.parametrize("lead", ["                             s->ram_end -", ""])
def test_hunk_in_the_tail_of_a_call_under_a_split_signature_changes_the_body(lead: str) -> None:
    # The header is the signature's first line; the hunk holds the last rows of a call split over
    # lines, whose `(` is above the hunk: its `);` closes no parameter list.
    lines = rows(
        *([" " + lead] if lead else []),
        "                             s->base,",
        "-                            as);",
        "+                            as, NULL);",
        "     }",
        "     if (size < 0) {",
    )
    assert facts("hw/net/nic.c", "static void nic_boot(NicState *s,", lines) == [
        ("nic_boot", "body-changed", "")
    ]


def test_a_parameter_list_that_goes_on_past_the_hunk_is_a_signature_change() -> None:
    # The hunk adds a parameter to a long list and ends before the list does: no fragment parses
    # as the function, but its signature changed (with no signatures to compare callers against).
    lines = rows(
        " }",
        " ",
        " DeviceState *nic_create(bool wide, int queues,",
        "+                        uint16_t sources,",
        "                         const Range *low,",
        "                         const Range *high,",
    )
    changes = analyze_hunk("hw/net/nic.c", "uint32_t nic_bits(uint32_t n)", lines, (20, 20))
    assert [(c.name, c.kind, c.old_signature, c.new_signature) for c in changes] == [
        ("nic_create", "signature-changed", None, None)
    ]


def test_a_split_prototype_with_function_pointer_parameters_is_read_on() -> None:
    # The header opens a prototype's parameter list; the hunk's rows go on with function pointers
    # whose own parameters have no names (`void *`, `bool`), then change a parameter and close it.
    lines = rows(
        "                  uint64_t (*note_fn)(void *, void *, bool),",
        "                  void *opaque, uint64_t *entry,",
        "-                 int big_endian,",
        "+                 int data_order,",
        "                  int clear_lsb);",
    )
    assert facts("include/hw/nic.h", "ssize_t nic_load(const char *filename,", lines) == [
        (
            "nic_load",
            "signature-changed",
            "parameters (const char *filename, uint64_t (*note_fn)(void *, void *, bool), void *opaque, "
            "uint64_t *entry, int big_endian, int clear_lsb) -> (const char *filename, uint64_t "
            "(*note_fn)(void *, void *, bool), void *opaque, uint64_t *entry, int data_order, int clear_lsb)",
        )
    ]


def test_prototype_added_after_a_prototype_split_in_the_header() -> None:
    # The hunk header is a prototype's first line; the hunk ends it and adds another prototype.
    lines = rows(
        "                   int b, int c);",
        " ",
        "+bool nic_open(Nic *n, int flags);",
        "+",
        " bool nic_close(Nic *n);",
    )
    assert facts("include/hw/nic.h", "bool nic_alloc(Nic *n, int a,", lines) == [
        ("nic_open", "prototype-added", "")
    ]


def test_hunk_starting_inside_a_multi_line_macro() -> None:
    lines = rows(
        "         (x)->word[1] = 0; \\",
        "     } while (0)",
        " ",
        "+#define NIC_GET_ID(x) ((x)->word[1])",
        "+",
        " void nic_record(Nic *n);",
        "+void nic_forward(Nic *n, Evt *e);",
        " int nic_find(Nic *n);",
    )
    assert facts("hw/net/nic-internal.h", "typedef struct NicInfo {", lines) == [
        ("nic_forward", "prototype-added", ""),
        ("NIC_GET_ID", "macro-added", ""),
    ]


def test_member_whose_type_changes_inside_a_struct_named_in_the_header() -> None:
    lines = rows("     bool drain;", "-    bool pasid;", "+    uint8_t pasid;", "     bool fs1gp;")
    assert facts("include/hw/nic.h", "struct NicState {", lines) == [
        ("NicState", "struct-member-changed", "member pasid")
    ]


def test_function_named_by_a_macro_keeps_the_macro_call_as_its_name() -> None:
    lines = rows(
        " ", "-void HELPER(nic_op)(Env *env, uint32_t v)", "+void HELPER(nic_op)(Env *env, FPReg *v)", " {"
    )
    assert facts("target/nic/helper.c", "", lines) == [
        ("HELPER(nic_op)", "signature-changed", "parameters (Env *env, uint32_t v) -> (Env *env, FPReg *v)")
    ]


@pytest.mark.parametrize(
    ("section", "name"),
    [
        # the header git took from a helper a macro names (real sample Z: s390x's HELPER(diag))
        ("void HELPER(nic_diag)(Env *env, uint32_t r1, uint32_t r3)", "HELPER(nic_diag)"),
        ("static inline uint64_t HELPER( nic_sum )(Env *env)", "HELPER( nic_sum )"),
        # a macro that makes the whole signature, no return type (m68k's DISAS_INSN(fpu))
        ("DISAS_INSN(nic_fpu)", "DISAS_INSN(nic_fpu)"),
        ("NIC_OP(add, 32) {", "NIC_OP(add, 32)"),
        # an ordinary function, and one taking a function pointer, keep their plain names
        ("static int nic_poll(NicState *s, int (*cb)(void *))", "nic_poll"),
        ("static int nic_poll(NicState *s)", "nic_poll"),
        # an annotation macro with arguments before the name (sample AI's qtest_log_send)
        ("static void G_GNUC_PRINTF(1, 2) nic_log(const char *fmt, ...)", "nic_log"),
    ],
)
def test_a_header_a_macro_names_keeps_the_macro_call_as_the_name(section: str, name: str) -> None:
    lines = rows("     s->a = 1;", "-    s->b = 0;", "+    s->b = 2;", "     s->c = 3;")
    assert facts("target/nic/translate.c", section, lines) == [(name, "body-changed", "")]


@pytest.mark.parametrize(
    "section",
    [
        # sample AS: a register table row (hw/arm/smmuv3-internal.h), and a line of a #define's body
        # that makes helpers by token pasting (target/ppc/dfp_helper.c): no function is named
        "REG32(NIC_CR0,                 0x20)",
        "void helper_##op(Env *env, NicReg *t, NicReg *b) \\",
    ],
)
def test_a_header_that_names_no_function_gives_no_body_change(section: str) -> None:
    lines = rows(
        "     FIELD(NIC_CR0, A, 0, 1)", "-    FIELD(NIC_CR0, B, 1, 1)", "+    FIELD(NIC_CR0, B, 1, 3)"
    )
    assert facts("hw/nic/regs.h", section, lines) == []


def test_a_macro_invocation_no_file_defines_a_function_by_is_no_body_change() -> None:
    # sample AS: `INITIALIZE_MIGRATE_CAPS_SET(check_caps, ...` heads a hunk: the macro makes a
    # table; once applied, the whole files define no function of that name
    from patchtool.models import FunctionChange
    from patchtool.parse.cwhole import refine

    before = b"INITIALIZE_NIC_CAPS(nic_caps,\n    NIC_CAP_A);\n\nint nic_poll(void)\n{\n    return 1;\n}\n"
    after = before.replace(b"return 1;", b"return 2;")
    said = (FunctionChange("nic.c", "INITIALIZE_NIC_CAPS", "body-changed"),)
    assert [(c.name, c.kind) for c in refine("nic.c", before, after, said)] == [("nic_poll", "body-changed")]


def test_a_prototype_moved_word_for_word_is_neither_added_nor_removed() -> None:
    # sample AS: a header grouping its register functions moved one prototype down the file
    from patchtool.models import FunctionChange
    from patchtool.parse.cwhole import refine

    before = b"int nic_read(int reg);\nint nic_count(void);\n"
    after = b"int nic_count(void);\nint nic_write(int reg);\nint nic_read(int reg);\n"
    said = tuple(
        FunctionChange("nic.h", name, kind)
        for name, kind in (("nic_read", "prototype-removed"), ("nic_write", "prototype-added"),
                           ("nic_read", "prototype-added"))
    )  # fmt: skip
    found = refine("nic.h", before, after, said)
    assert [(c.name, c.kind) for c in found] == [("nic_write", "prototype-added")]


def test_an_annotation_macro_before_a_prototypes_name_keeps_it_a_prototype() -> None:
    # sample AJ's block layer: `static bool GRAPH_RDLOCK` above the name, or `void GRAPH_UNLOCKED
    # f(...)`, read by tree-sitter as a variable GRAPH_RDLOCK and a call: the prototype looked
    # removed. It is the same prototype, its signature changed (the annotation kept in it).
    from patchtool.parse.cwhole import entities

    lines = rows(
        " static void nic_resize(NicChild *child);",
        "-static bool nic_change_ctx(NicChild *child, AioContext *ctx,",
        "-                           GHashTable *visited, Error **errp);",
        "+static bool GRAPH_RDLOCK",
        "+nic_change_ctx(NicChild *child, AioContext *ctx, GHashTable *visited,",
        "+               Error **errp);",
        "-void nic_drain_all(void);",
        "+void GRAPH_UNLOCKED nic_drain_all(void);",
    )
    found = analyze_hunk("hw/nic.c", "", lines, (20, 20))
    assert sorted((c.name, c.kind) for c in found) == [
        ("nic_change_ctx", "signature-changed"),
        ("nic_drain_all", "signature-changed"),
    ]
    assert any("GRAPH_RDLOCK" in c.detail for c in found if c.name == "nic_change_ctx")
    after = b"static bool GRAPH_RDLOCK\nnic_change_ctx(NicChild *c, AioContext *x, GHashTable *v, Error **p);"
    protos = entities(after)[1]
    assert list(protos) == ["nic_change_ctx"] and "GRAPH_RDLOCK" in protos["nic_change_ctx"]
    # blanked byte for byte, but not on a preprocessor line: the macro's own definition keeps its name
    from patchtool.parse.cparser import for_parsing

    src = b"#define GRAPH_RDLOCK TSA_REQUIRES_SHARED(graph_lock)\nint GRAPH_RDLOCK f(void);\n"
    assert for_parsing(src) == src.replace(b"int GRAPH_RDLOCK f", b"int              f")


def test_long_rows_in_an_open_parameter_list_do_not_backtrack() -> None:
    # Mail is untrusted: rows of one long word (no star, no name after it) inside a parameter list
    # the header leaves open, and a long signature row, must be read in linear time. A regex that
    # can split a word two ways takes 2^n steps on them (the first form of the parameter test did;
    # a bench run hung). Run apart, with a bound far above what linear work needs.
    code = (
        "from patchtool.parse.cfuncs import analyze_hunk\n"
        "word = 'a' * 60\n"
        "pad = ' ' * 10\n"
        "rows = [('-', pad + word + ' -'), ('+', pad + word + ' -,'), (' ', pad + word + ')')]\n"
        "analyze_hunk('hw/x.c', 'static int nic_x(int a,', rows, (20, 20))\n"
        "long_row = 'int ' + word * 2000 + '(' + 'y ' * 20000\n"
        "analyze_hunk('hw/x.c', '', [(' ', long_row), ('+', 'int a,')], (1, 1))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()


@pytest.mark.parametrize(
    ("text", "closed"),
    [
        ("{\n    /*\n     * it's the peer", "\n*/\n};"),  # a body whose first comment the hunk cuts
        ("/* see https://example.org/a */\nint a;", ""),  # a URL in a closed comment
        ("/* see https://example.org/a", "\n*/"),
        ('char *s = "/*";', ""),  # a string, not a comment
        ("x = 1; // a /* in a line comment", ""),
        ("c = '\\''; /* open", "\n*/"),  # an escaped quote in a character literal
    ],
)
def test_a_fragment_is_closed_where_it_is_left_open(text: str, closed: str) -> None:
    assert close_open_scopes(text) == text + closed


def test_a_signature_change_in_a_hunk_ending_inside_the_functions_comment() -> None:
    # Under an #ifdef closed past the hunk, the hunk's last rows open the function's first comment:
    # left open, the comment swallows the closing brace, and tree-sitter's recovery (which
    # depends on the comment's words) can lose the change (real sample R).
    lines = [
        (" ", "}"),
        (" ", ""),
        (" ", "#ifdef CONFIG_TLS"),
        ("-", "static void test_one(void)"),
        ("+", "static void test_one(char *name,"),
        ("+", "                     Common *args)"),
        (" ", "{"),
        (" ", "    run(1);"),
        (" ", "}"),
        (" ", ""),
        ("-", "static void test_two(void)"),
        ("+", "static void test_two(char *name,"),
        ("+", "                     Common *args)"),
        (" ", "{"),
        (" ", "    /*"),
        (" ", "     * The second test behaves differently from the first one: its"),
    ]
    found = analyze_hunk("tests/tls.c", "static void run(int n)", lines, (6, 6))
    expected = [("test_one", "signature-changed"), ("test_two", "signature-changed")]
    assert [(c.name, c.kind) for c in found] == expected


@pytest.mark.parametrize("kind", ["+", "-"])
def test_a_macro_written_over_lines_is_no_function_body(kind: str) -> None:
    # the indented value of a `#define` continued over lines is not the body of a scope git named:
    # read so, every macro of the hunk was lost (a new header's macros, sample of 160 series)
    lines = rows(
        f"{kind}#define NIC_RING 16",
        f"{kind}#define NIC_QUEUES(n) \\",
        f"{kind}    ((n) * 2)",
        f"{kind}#define NIC_MASK(n) \\",
        f"{kind}    (NIC_QUEUES(n) - 1)",
    )
    verb = "added" if kind == "+" else "removed"
    assert facts("hw/net/nic.h", "", lines) == [
        (m, f"macro-{verb}", "") for m in ("NIC_RING", "NIC_QUEUES", "NIC_MASK")
    ]
