# Question: what is AT_MINSIGSTKSZ on host-amd-epyc-vm, and does a stack of that size
#   hold a signal frame?
# Answer: round_up(sizeof(struct sigframe_ia32) 736 + 15 + (832 + 4 + 112)
#   + 63, 16) = 1776 bytes: the worst case of the largest XSAVE area the
#   kernel enables (832 bytes, CPUID.(0DH,0).EBX), with IA32 emulation as in
#   distribution kernels (without it: 440 + 15 + 832 + 4 + 63 -> 1360).
#   Measured on the project host (Linux 6.18): getauxval(AT_MINSIGSTKSZ) and
#   dmesg "signal: max sigframe size: 1776".
#   AT_MINSIGSTKSZ is below MINSIGSTKSZ (2048) here, and sigaltstack()
#   refuses anything smaller than MINSIGSTKSZ (ENOMEM): an altstack needs
#   max(AT_MINSIGSTKSZ, MINSIGSTKSZ) bytes.
machine cpu=host-amd-epyc-vm cpus=1
thread t1 on cpu0

expect minsigstksz == 1776
expect xstate-size t1 == 832
expect sigaltstack-min t1 == 2048
t1 sigaltstack 1776
expect errno t1 == ENOMEM
t1 sigaltstack 2048
expect errno t1 == 0
t1 signal SIGUSR1 onstack
expect in-handler t1 == 1
expect frame t1 xstate_size == 832
t1 sigreturn
expect errno t1 == 0
