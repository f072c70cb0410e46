/* Built twice by tests_unwind.py: -DUNWIND_DL_ALPHA gives alpha_alloc, a
 * frame-pointer frame (CFA = rbp + 16), otherwise omega_alloc, a frame
 * addressed from rsp (CFA = rsp + 32). Both are the library's only code,
 * the same size up to the call and with the same frame size, so the call
 * to malloc returns to the same offset, and its return address lies in
 * the same stack slot, in both. Written in assembly so that no compiler
 * option can change that. */
#if defined(UNWIND_DL_ALPHA)
#define ALLOC_NAME "alpha_alloc"
/* push %rbp; mov %rsp,%rbp; sub $16,%rsp: 8 bytes, 32-byte frame. */
#define PROLOGUE                                                             \
    "push %rbp\n"                                                            \
    ".cfi_def_cfa_offset 16\n"                                               \
    ".cfi_offset %rbp, -16\n"                                                \
    "mov %rsp, %rbp\n"                                                       \
    ".cfi_def_cfa_register %rbp\n"                                           \
    "sub $16, %rsp\n"
#define EPILOGUE                                                             \
    "leave\n"                                                                \
    ".cfi_def_cfa %rsp, 8\n"
#else
#define ALLOC_NAME "omega_alloc"
/* sub $24,%rsp; a 4-byte nop: 8 bytes, 32-byte frame. */
#define PROLOGUE                                                             \
    "sub $24, %rsp\n"                                                        \
    ".cfi_def_cfa_offset 32\n"                                               \
    ".byte 0x0f, 0x1f, 0x40, 0x00\n"   /* nopl 0(%rax) */
#define EPILOGUE                                                             \
    "add $24, %rsp\n"                                                        \
    ".cfi_def_cfa_offset 8\n"
#endif

__asm__(".text\n"
        ".p2align 4\n"
        ".globl " ALLOC_NAME "\n"
        ".type " ALLOC_NAME ", @function\n"
        ALLOC_NAME ":\n"
        ".cfi_startproc\n"
        PROLOGUE
        "call malloc@PLT\n"
        EPILOGUE
        "ret\n"
        ".cfi_endproc\n"
        ".size " ALLOC_NAME ", .-" ALLOC_NAME "\n");
