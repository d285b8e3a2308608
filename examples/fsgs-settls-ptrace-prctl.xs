# Question: what do CLONE_SETTLS and a tracer's PTRACE_ARCH_PRCTL do to
#   FS/GS, and do the two policies agree?
# Answer: both are do_arch_prctl_64() on a task that is not running, the
#   same under both policies. CLONE_SETTLS (copy_thread -> set_new_tls):
#   the child starts with FS selector 0 and FS base = tls; the parent keeps
#   its own. PTRACE_ARCH_PRCTL(ARCH_SET_FS/GS) on a stopped tracee writes
#   selector 0 and the base into its thread struct -- after a POKEUSER of a
#   selector with no descriptor too (the selector is replaced, so even
#   fsgs=lutomirski2016 keeps the base); ARCH_GET_* reads what PEEKUSER
#   reads; a base at or above TASK_SIZE_MAX is -EPERM, and the XSTATE
#   options (ARCH_REQ_XCOMP_PERM 0x1023) are the system call's only: -EINVAL.
# Run both:
#   xstate run examples/fsgs-settls-ptrace-prctl.xs
#   xstate run --policy fsgs=lutomirski2016 examples/fsgs-settls-ptrace-prctl.xs
machine cpu=intel-sapphire-rapids cpus=2
invariants all
thread t1 on cpu0
t1 arch_prctl SET_FS 0x100000000
clone t1 as t2 tls=0x200000000     # pthread_create: the new thread's TLS block
thread t3 on cpu1
switch cpu1 to t2
t2 read xmm0
expect seg t2 fs == 0
expect seg t2 fsbase == 0x200000000
expect seg t1 fsbase == 0x100000000

# A tracer stops t2 and sets its GS base, then FS after a bad selector.
switch cpu1 to t3
ptrace-arch-prctl t2 SET_GS 0x300000000
expect result t2 == 0
ptrace-arch-prctl t2 GET_GS
expect result t2 == 0
expect peek t2 gs_base == 0x300000000
pokeuser t2 fs = 0x63              # TLS slot 12: no descriptor
ptrace-arch-prctl t2 SET_FS 0x400000000
expect peek t2 fs == 0
ptrace-arch-prctl t2 SET_FS 0x7ffffffff000
expect result t2 == EPERM
ptrace-arch-prctl t2 0x1023 18     # ARCH_REQ_XCOMP_PERM through ptrace
expect result t2 == EINVAL
switch cpu1 to t2
t2 read xmm0
expect seg t2 gs == 0
expect seg t2 gsbase == 0x300000000
expect seg t2 fs == 0
expect seg t2 fsbase == 0x400000000
