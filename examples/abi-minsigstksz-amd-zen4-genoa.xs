# Question: what is AT_MINSIGSTKSZ on amd-zen4-genoa, and does a stack of that size
#   hold a signal frame?
# Answer: round_up(sizeof(struct sigframe_ia32) 736 + 15 + (2440 + 4 + 112)
#   + 63, 16) = 3376 bytes: the worst case of the largest XSAVE area the
#   kernel enables (2440 bytes, CPUID.(0DH,0).EBX), with IA32 emulation as in
#   distribution kernels (without it: 440 + 15 + 2440 + 4 + 63 -> 2976).
#   An altstack of exactly AT_MINSIGSTKSZ holds the largest frame.
machine cpu=amd-zen4-genoa cpus=1
thread t1 on cpu0

expect minsigstksz == 3376
expect xstate-size t1 == 2440
expect sigaltstack-min t1 == 2048
t1 sigaltstack 3376
expect errno t1 == 0
t1 signal SIGUSR1 onstack
expect in-handler t1 == 1
expect frame t1 xstate_size == 2440
t1 sigreturn
expect errno t1 == 0
