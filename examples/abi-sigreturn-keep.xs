# Question: Linux resets the user state to init when sigreturn fails; what
#   does the policy sigreturn-fail=keep change?
# Answer: the task still gets SIGSEGV, but its extended state is exactly
#   what it was when it called sigreturn (the handler's values): the kernel
#   saves the live registers into the task's buffer before the XRSTOR from
#   the frame, and a failure makes the next return to user mode reload them.
#   Not Linux (linux-design.md 5.3); the issue asked for it.
machine cpu=intel-icelake-sp cpus=1 sigreturn-fail=keep
thread t1 on cpu0
t1 write zmm4 = fill:0x44

t1 signal SIGUSR1
t1 write zmm4 = fill:0xaa
t1 frame flip hdr.16 0
t1 sigreturn
expect errno t1 == EFAULT
expect signal t1 == SIGSEGV
expect t1 zmm4 == fill:0xaa
expect in-handler t1 == 0

t1 signal SIGUSR1
t1 write zmm4 = fill:0xbb
t1 frame flip mxcsr 31
t1 sigreturn
expect signal t1 == SIGSEGV
expect t1 zmm4 == fill:0xbb
expect t1 mxcsr == 0x1f80

# A good frame still restores.
t1 signal SIGUSR1
t1 write zmm4 = fill:0xcc
t1 sigreturn
expect errno t1 == 0
expect t1 zmm4 == fill:0xbb
