/* chain_layout.c - see chain_layout.h. */
#include "chain_layout.h"

/* Slot positions and load offsets are kept in words from the entry slot,
 * in 16 bits. */
#define SPAN_MAX (UINT16_MAX * LAYOUT_WORD)

/* Slots come from our walk, which only ever steps up the stack to 8-byte
 * aligned frames (unwind.c): they rise, so the span to check is the last
 * one's. */
static bool store_slots(struct chain_layout *l, const uintptr_t *slots,
                        uint32_t n)
{
    uintptr_t base = slots[0], misaligned = 0;
    if (slots[n - 1] - base > SPAN_MAX)
        return false;
    for (uint32_t i = 0; i < n; i++) {
        uintptr_t span = slots[i] - base;
        misaligned |= span % LAYOUT_WORD;
        l->at[i] = (uint16_t)(span / LAYOUT_WORD);
    }
    return !misaligned;
}

bool chain_layout_from_walk(struct chain_layout *l, uintptr_t entry_slot,
                            const uintptr_t *slots, uint32_t n,
                            const struct unwind_reads *reads)
{
    uint32_t other = 0, frame = 0;

    if (n == 0 || n > LAYOUT_DEPTH || slots[0] != entry_slot ||
        reads->ends_on_zero || reads->n > UNWIND_READS_MAX ||
        !store_slots(l, slots, n))
        return false;
    l->fp_chain = 0;
    /* Loads come in walk order, so a frame-pointer load of frame i is
     * found by moving forward through the slots. */
    for (uint32_t r = 0; r < reads->n; r++) {
        uintptr_t addr = reads->addr[r], value = reads->value[r];
        intptr_t at = (intptr_t)(addr - entry_slot);
        while (frame + 1 < n && slots[frame] - LAYOUT_WORD < addr)
            frame++;
        if (frame + 1 < n && addr == slots[frame] - LAYOUT_WORD &&
            value == slots[frame + 1] - LAYOUT_WORD) {
            l->fp_chain |= UINT32_C(1) << frame;
            continue;
        }
        if (other == LAYOUT_OTHER_READS || at % (intptr_t)LAYOUT_WORD ||
            at / (intptr_t)LAYOUT_WORD < INT16_MIN ||
            at / (intptr_t)LAYOUT_WORD > INT16_MAX)
            return false;
        l->read_at[other] = (int16_t)(at / (intptr_t)LAYOUT_WORD);
        l->read_value[other++] = value;
    }
    l->nreads = (uint8_t)other;
    l->nframes = (uint8_t)n;
    return true;
}
