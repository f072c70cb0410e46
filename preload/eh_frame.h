/*
 * eh_frame.h - how to find the caller's frame from an instruction of
 * x86-64 code, read from the DWARF call frame information the loader maps
 * with every object (.eh_frame, found through .eh_frame_hdr's sorted
 * table). Only the rules a compiler emits for ordinary functions are
 * understood: the CFA as rsp or rbp plus an offset, the return address at
 * CFA-8, rbp either untouched or saved at a fixed offset from the CFA.
 * Anything else (signal frames, DWARF expressions, stack realignment,
 * code without unwind information such as a JIT's) comes back as
 * FRAME_RULE_UNKNOWN, and the caller lets libunwind do that stack.
 *
 * The interpreter reads bytes the loader mapped, never past the end of
 * the entry it is reading, and never allocates or locks.
 */
#ifndef MTRACE_EH_FRAME_H
#define MTRACE_EH_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum frame_rule_kind {
    FRAME_RULE_UNKNOWN = 0,    /* not understood: unwind another way */
    FRAME_RULE_STEP = 1,       /* the caller's frame follows from the rule */
    FRAME_RULE_OUTERMOST = 2,  /* return address undefined: the last frame */
    FRAME_RULE_NO_INFO = 3,    /* no unwind information at all: code of no
                                * object (a JIT's) or without an FDE; the
                                * frame-pointer chain is all there is */
};

enum frame_rule_base { FRAME_BASE_RSP = 0, FRAME_BASE_RBP = 1 };

struct frame_rule {
    uint8_t kind;              /* enum frame_rule_kind */
    uint8_t cfa_base;          /* enum frame_rule_base */
    bool rbp_saved;            /* caller's rbp at CFA + rbp_offset */
    int32_t cfa_offset;        /* CFA = base register + cfa_offset */
    int32_t rbp_offset;
};

/* One FDE's program, as eh_frame_find located it: the CIE's initial
 * instructions, then the FDE's own, and the CIE's parameters. */
struct cfi_program {
    const uint8_t *cie_insns, *cie_end;
    const uint8_t *fde_insns, *fde_end;
    uintptr_t pc_begin;        /* first instruction the FDE covers */
    uint64_t code_align;
    int64_t data_align;
    uint64_t ra_register;
    uint8_t fde_encoding;      /* for DW_CFA_set_loc */
    bool signal_frame;         /* CIE augmentation 'S' */
    bool fde_has_aug_data;     /* CIE augmentation 'z' */
};

/* Runs the program up to and including `pc` and reduces the state to a
 * rule; FRAME_RULE_UNKNOWN for anything outside the supported subset or
 * malformed. */
struct frame_rule cfi_rule_at(const struct cfi_program *program, uintptr_t pc);

/* Finds the FDE covering pc through the .eh_frame_hdr at `hdr` (as
 * _dl_find_object reports it); false when none does or the tables use an
 * encoding we do not read. */
bool eh_frame_find(const void *hdr, uintptr_t pc, struct cfi_program *out);

/* eh_frame_find telling the two failures apart: 1 found, 0 no FDE covers
 * pc, -1 tables we cannot read. */
int eh_frame_lookup(const void *hdr, uintptr_t pc, struct cfi_program *out);

/* Both steps, for the code at pc (an instruction inside a function: for a
 * return address, pass the address minus one). */
struct frame_rule eh_frame_rule_for(uintptr_t pc);

#endif
