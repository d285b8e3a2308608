# Question: what is AT_MINSIGSTKSZ on intel-skylake-client, and does a stack of that size
#   hold a signal frame?
# Answer: round_up(sizeof(struct sigframe_ia32) 736 + 15 + (1088 + 4 + 112)
#   + 63, 16) = 2032 bytes: the worst case of the largest XSAVE area the
#   kernel enables (1088 bytes, CPUID.(0DH,0).EBX), with IA32 emulation as in
#   distribution kernels (without it: 440 + 15 + 1088 + 4 + 63 -> 1616).
#   AT_MINSIGSTKSZ is below MINSIGSTKSZ (2048) here, and sigaltstack()
#   refuses anything smaller than MINSIGSTKSZ (ENOMEM): an altstack needs
#   max(AT_MINSIGSTKSZ, MINSIGSTKSZ) bytes.
machine cpu=intel-skylake-client cpus=1
thread t1 on cpu0

expect minsigstksz == 2032
expect xstate-size t1 == 1088
expect sigaltstack-min t1 == 2048
t1 sigaltstack 2032
expect errno t1 == ENOMEM
t1 sigaltstack 2048
expect errno t1 == 0
t1 signal SIGUSR1 onstack
expect in-handler t1 == 1
expect frame t1 xstate_size == 1088
t1 sigreturn
expect errno t1 == 0
