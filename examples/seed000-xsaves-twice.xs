# Question: (seed 000, Andy Lutomirski) "it's okay to XSAVES twice to the
#   same buffer with disjoint RFBM as long as we do something intelligent
#   with XSTATE_BV afterwards, right? Because, unless we split up the
#   buffers, I think we will have to do this when we context switch while
#   TIF_LOAD_FPU is set."
# Answer: no. XSAVES writes the compacted format of ITS OWN RFBM: XCOMP_BV
#   := RFBM | bit 63, XSTATE_BV := RFBM & XINUSE (every other bit cleared),
#   and its first extended component lands at offset 576 -- over the first
#   save's. Fixing XSTATE_BV alone makes XRSTORS #GP (XSTATE_BV is not a
#   subset of XCOMP_BV); fixing XCOMP_BV too restores garbage. It works only
#   when one of the saves holds nothing but x87/SSE (the fixed legacy area),
#   and then both header fields need the fix-up. Restoring in parts from ONE
#   full save is fine (XRSTORS of CET_U, then of the FPU: two instructions
#   instead of one). Linux never splits a save: switch_fpu() XSAVES
#   everything the buffer has room for, once; while TIF_NEED_FPU_LOAD is set
#   the buffer is already complete and nothing is saved at all.
#   (tests/kernel/test_special_seed000.c checks the same on the model.)
machine cpu=intel-sapphire-rapids cpus=1
thread t on cpu0

t write ymm0 = fill:0x11
t shstk enable                     # CET_U live: U_CET = SH_STK_EN
kbuf B
kbuf C

# Kernel code with the registers to itself: kernel_fpu_begin() saved t.
kfpu cpu0 begin noclobber
kinsn cpu0 xsaves B x87|sse|avx
expect kbuf B xcomp_bv == x87|sse|avx|0x8000000000000000
expect kbuf B ymm0 == fill:0x11
kinsn cpu0 xsaves B cet_u          # the disjoint second save
expect kbuf B xcomp_bv == cet_u|0x8000000000000000
expect kbuf B xstate_bv == cet_u   # x87|sse|avx bits gone
expect kbuf B u_cet == 0x1         # at offset 576: over YMM0's upper half
# "Something intelligent with XSTATE_BV":
kbuf B xstate_bv |= sse|avx
kinsn cpu0 xrstors B x87|sse|avx|cet_u
expect kbuf B fault == #GP         # XSTATE_BV not a subset of XCOMP_BV
kbuf B xcomp_bv |= sse|avx
expect kbuf B ymm0 != fill:0x11    # YMM0_H now reads CET_U's bytes
kinsn cpu0 xrstors B x87|sse|avx|cet_u
expect kbuf B fault == none
expect hw cpu0 ymm0 != fill:0x11   # the restore "works" -- with garbage
expect hw cpu0 u_cet == 0          # and CET_U from bytes nobody wrote

# The one case that works: a legacy-only first save, both fields fixed.
kfpu cpu0 end
t write ymm0 = fill:0x11
t write xmm1 = fill:0x22
kfpu cpu0 begin noclobber
kinsn cpu0 xsaves C sse
kinsn cpu0 xsaves C avx|cet_u
expect kbuf C xstate_bv == avx|cet_u
kbuf C xstate_bv |= sse
kbuf C xcomp_bv |= sse
expect kbuf C ymm0 == fill:0x11
expect kbuf C xmm1 == fill:0x22
expect kbuf C u_cet == 0x1

# What Linux does: one XSAVES of everything, restores in any parts.
kbuf B xstate_bv = 0
kinsn cpu0 xsaves B sse|avx|cet_u
kinsn cpu0 xrstors B cet_u         # supervisor part alone ...
expect hw cpu0 u_cet == 0x1
kinsn cpu0 xrstors B sse|avx       # ... then the FPU part
expect hw cpu0 ymm0 == fill:0x11
kfpu cpu0 end
expect t ymm0 == fill:0x11         # t's own state came back from its buffer
expect ssp t == top
