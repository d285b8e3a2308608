# Question: what is AT_MINSIGSTKSZ on intel-sapphire-rapids, and does a stack of that size
#   hold a signal frame?
# Answer: round_up(sizeof(struct sigframe_ia32) 736 + 15 + (11008 + 4 + 112)
#   + 63, 16) = 11952 bytes: the worst case of the largest XSAVE area the
#   kernel enables (11008 bytes, CPUID.(0DH,0).EBX), with IA32 emulation as in
#   distribution kernels (without it: 440 + 15 + 11008 + 4 + 63 -> 11536).
#   AMX counts whether or not a task may use it; a task's own frames are
#   2816 bytes of XSAVE image until its first tile use. With permission,
#   sigaltstack() requires more than 11952 - (11008 + 116) + 11008 bytes.
#   An altstack of exactly AT_MINSIGSTKSZ holds the largest frame.
machine cpu=intel-sapphire-rapids cpus=1
thread t1 on cpu0

expect minsigstksz == 11952
expect xstate-size t1 == 2816
expect sigaltstack-min t1 == 2048
t1 arch_prctl REQ_XCOMP_PERM 18
expect minsigstksz == 11952
expect xstate-size t1 == 2816
expect sigaltstack-min t1 == 11837
t1 write tilecfg = bytes:01000000000000000000000000000000400000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000
t1 write tmm0 = fill:0x01
expect xstate-size t1 == 11008
t1 sigaltstack 11952
expect errno t1 == 0
t1 signal SIGUSR1 onstack
expect in-handler t1 == 1
expect frame t1 xstate_size == 11008
t1 sigreturn
expect errno t1 == 0
