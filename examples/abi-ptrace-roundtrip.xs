# Question: what do PTRACE_GETREGSET / SETREGSET show and change, and when
#   do the tracee's registers pick the change up?
# Answer: the tracee is stopped first (its CPU switches away, which saves
#   its registers). NT_X86_XSTATE is the standard-format image of the saved
#   buffer: header xfeatures = XSTATE_BV & the task's user features, the
#   software-reserved word 0 = XCR0, PKRU from thread.pkru. NT_PRFPREG is
#   its first 512 bytes (FXSAVE format, bytes 416-511 zero). A write marks
#   the task's registers stale everywhere (last_cpu = -1): back on the CPU
#   that still holds its old values it is restored, not skipped.
machine cpu=intel-sapphire-rapids cpus=2
thread t1 on cpu0
t1 write xmm2 = fill:0x22
t1 write zmm18 = seq:0x18
t1 write pkru = 0x0000000c

ptrace t1 get xstate
expect errno t1 == 0
expect running cpu0 == idle
expect regset t1 u64.464 == x87|sse|avx|opmask|zmm_hi256|hi16_zmm|pkru|xtilecfg|xtiledata
expect regset t1 xstate_bv & sse|hi16_zmm|pkru == sse|hi16_zmm|pkru
expect regset t1 xcomp_bv == 0
expect regset t1 xmm2 == fill:0x22
expect regset t1 zmm18 == seq:0x18
expect regset t1 pkru == 0x0000000c
ptrace t1 get fpregs
expect regset t1 xmm2 == fill:0x22
expect regset t1 u64.464 == 0

ptrace t1 get xstate
ptrace t1 poke xmm2 = fill:0x2e
ptrace t1 poke zmm18 = fill:0x18
ptrace t1 poke pkru = 0x00000030
ptrace t1 poke sw_xfeatures = 0xffffffff
ptrace t1 set xstate
expect errno t1 == 0
expect last-cpu t1 == none
counters reset
switch cpu0 to t1
expect t1 xmm2 == fill:0x2e
expect restores cpu0 == 1
expect skipped cpu0 == 0
expect t1 zmm18 == fill:0x18
expect t1 pkru == 0x00000030

# NT_PRFPREG write: the legacy area only, XSTATE_BV |= FP|SSE.
ptrace t1 get fpregs
ptrace t1 poke xmm2 = fill:0x2f
ptrace t1 set fpregs
expect errno t1 == 0
switch cpu1 to t1
expect t1 xmm2 == fill:0x2f
expect t1 zmm18 == fill:0x18

# An AMX tracee: the tile data shows up once it has used AMX.
t1 arch_prctl REQ_XCOMP_PERM 18
t1 write tilecfg = bytes:01000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000
t1 write tmm3 = fill:0x33
ptrace t1 get xstate
expect regset t1 tmm3 == fill:0x33
ptrace t1 poke tmm3 = fill:0x3c
ptrace t1 set xstate
expect errno t1 == 0
switch cpu1 to t1
expect t1 tmm3 == fill:0x3c
