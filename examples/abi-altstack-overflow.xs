# Question: what happens when a signal frame does not fit the sigaltstack?
# Answer: get_sigframe() refuses a frame whose final stack pointer falls
#   outside the altstack ("overflowed sigaltstack") and the task gets
#   SIGSEGV instead of its handler -- the kernel selftest sigaltstack.c
#   case of an altstack smaller than AT_MINSIGSTKSZ. MINSIGSTKSZ (2048) is
#   accepted by sigaltstack() on AVX-512 machines without AMX permission
#   (legacy leniency), but the 2696-byte XSAVE image does not fit. Nested
#   frames on a large enough altstack go below each other until it is full.
machine cpu=intel-icelake-sp cpus=1
thread t1 on cpu0
t1 sigaction SIGUSR1 onstack

t1 sigaltstack 2048
expect errno t1 == 0
t1 signal SIGUSR1
expect errno t1 == EFAULT
expect signal t1 == SIGSEGV
expect in-handler t1 == 0

t1 sigaltstack 8192
t1 signal SIGUSR1
expect errno t1 == 0
expect in-handler t1 == 1
expect frame t1 uc.ss_size == 8192
t1 signal SIGUSR1
expect errno t1 == 0
expect in-handler t1 == 2
t1 signal SIGUSR1
expect errno t1 == EFAULT
expect signal t1 == SIGSEGV
expect in-handler t1 == 2
t1 sigreturn
t1 sigreturn
expect in-handler t1 == 0
