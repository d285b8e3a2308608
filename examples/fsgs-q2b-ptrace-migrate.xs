# Question: seed 002, 2b: a tracer reads the state out and writes exactly the
#   same thing back; the task resumes on a different CPU.
# Answer: under fsgs=linux: unchanged, as in 2a -- FS 0x63 with 0x200000000,
#   GS 0 with 0x300000000. Nothing in the saved state depends on the CPU.
#   Under fsgs=lutomirski2016: FS 0x63 with the descriptor's base
#   0x7000, GS 0x300000000, as in 2a: the proposal reloads a nonzero selector
#   from memory on every restore, whichever CPU it happens on.
# Run both:
#   xstate run examples/fsgs-q2b-ptrace-migrate.xs
#   xstate run --policy fsgs=lutomirski2016 examples/fsgs-q2b-ptrace-migrate.xs
machine cpu=intel-icelake-sp cpus=2
thread t1 on cpu0
thread t2 on cpu1

t1 set_thread_area -1 0x7000
t1 mov fs = 0x63
t1 wrfsbase 0x200000000
t1 wrgsbase 0x300000000
switch cpu0 to idle              # t1 stops
ptrace-regs t1                   # PTRACE_GETREGS + PTRACE_SETREGS: the same values back
expect peek t1 fs_base == 0x200000000
migrate t1 to cpu1               # resumes elsewhere
expect running cpu1 == t1
expect seg t1 fs == 0x63
expect seg t1 fsbase == 0x200000000 if fsgs=linux
expect seg t1 fsbase == 0x7000 if fsgs=lutomirski2016
expect seg t1 gs == 0
expect seg t1 gsbase == 0x300000000
