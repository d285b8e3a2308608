# Question: a thread that never touches the vector registers -- what does it
#   hold, what do the kernel's saves write for it, and how does XINUSE behave?
# Answer: it holds the initial configuration. Restoring its image leaves the
#   vector components not in use (XINUSE clear), so the init optimization of
#   XSAVES writes nothing for them: they stay out of its buffer's XSTATE_BV
#   (PKRU may be in it: Linux gives tasks init_pkru_value 0x55555554, which
#   is not the architectural init state 0). Another task's AVX-512 values do not survive the switch back:
#   the restore puts the components back to init and clears XINUSE again.
#   Touching AVX (an instruction that uses YMM0 without changing it) marks
#   AVX -- and SSE, whose XMM0 is YMM0's low half -- in use with the same
#   zero values; VZEROUPPER returns AVX to init and clears XINUSE[AVX].
machine cpu=intel-sapphire-rapids cpus=1
thread idler on cpu0
thread worker on cpu0

idler syscall
expect xinuse cpu0 & avx|opmask|zmm_hi256|hi16_zmm == 0
expect idler ymm0 == zero
switch cpu0 to worker
expect xstate-bv idler & x87|sse|avx|opmask|zmm_hi256|hi16_zmm == 0
worker write zmm9 = fill:0xc3
expect xinuse cpu0 & zmm_hi256 == zmm_hi256
switch cpu0 to idler
return cpu0
expect xinuse cpu0 & avx|zmm_hi256 == 0
expect regs cpu0 zmm_hi256 == init
expect idler zmm9 == zero
idler touch avx
expect xinuse cpu0 & sse|avx == sse|avx
expect idler ymm0 == zero
idler vzeroupper
expect xinuse cpu0 & avx == 0
switch cpu0 to worker
expect xstate-bv idler & x87|sse|avx|opmask|zmm_hi256|hi16_zmm == sse
