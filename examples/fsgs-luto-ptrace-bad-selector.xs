# Question: seed 002, 2b with a twist: a tracer writes a base and a
#   selector that names no descriptor (TLS slots 12 and 13, never set), and the
#   tracee resumes on another CPU. What are its FS selector and base?
# Answer: PTRACE_POKEUSER takes any selector with RPL 3 (set_segment_reg);
#   the switch-in's reload faults and the kernel's fixup loads selector 0.
#   fsgs=linux (FSGSBASE): the saved base is written back after the load:
#     selector 0, base 0x5714f591000 -- the base the tracer wrote.
#   fsgs=lutomirski2016: a nonzero selector takes its base from the
#     descriptor, and there is none: selector 0, base 0. The kernel writes
#     the 0 itself, since on CPUs whose null load keeps the base
#     (X86_BUG_NULL_SEG, AMD) the register would still hold the previous
#     task's. (The explorer found this case: the shadow used to keep the
#     poked base under both policies.)
# Run both:
#   xstate run examples/fsgs-luto-ptrace-bad-selector.xs
#   xstate run --policy fsgs=lutomirski2016 examples/fsgs-luto-ptrace-bad-selector.xs
machine cpu=intel-sapphire-rapids cpus=2
invariants all
thread t1 on cpu0
thread t2 on cpu0
switch cpu0 to t2
pokeuser t1 fs_base = 0x5714f591000
pokeuser t1 fs = 0x63
expect result t1 == 0
migrate t1 to cpu1
t1 read ymm0
expect seg t1 fs == 0
expect seg t1 fsbase == 0x5714f591000 if fsgs=linux
expect seg t1 fsbase == 0 if fsgs=lutomirski2016
switch cpu1 to idle             # a tracer reads it back: a stopped tracee
expect peek t1 fs == 0
expect peek t1 fs_base == 0x5714f591000 if fsgs=linux
expect peek t1 fs_base == 0 if fsgs=lutomirski2016


# The other order: selector, then base. fsgs=linux writes the base after
# the failed reload as before; under fsgs=lutomirski2016 the selector still
# decides (nonzero, no descriptor): base 0 again, the written base unused.
pokeuser t1 gs = 0x6b
pokeuser t1 gs_base = 0x5714f592000
switch cpu1 to t1
t1 read ymm0
expect seg t1 gs == 0
expect seg t1 gsbase == 0x5714f592000 if fsgs=linux
expect seg t1 gsbase == 0 if fsgs=lutomirski2016
