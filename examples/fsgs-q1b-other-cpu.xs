# Question: seed 002, 1b: what happens when a task switches out and back in
#   on a different CPU?
# Same state as question 1a: FS = selector 0x63 (TLS base 0x7000) with a
#   WRFSBASE base 0x200000000, GS = selector 0 with base 0x300000000.
# Answer: under fsgs=linux: the same as on the same CPU -- FS 0x63 with
#   0x200000000, GS 0 with 0x300000000. The saved values travel with the
#   task; the new CPU's GDT gets the task's TLS descriptors (load_TLS)
#   before the selector is reloaded, then the saved base is written.
#   Under fsgs=lutomirski2016: FS 0x63 with the descriptor's 0x7000
#   (as on the same CPU: the proposal restores from the in-memory
#   descriptor wherever it runs); GS keeps 0x300000000.
# Run both:
#   xstate run examples/fsgs-q1b-other-cpu.xs
#   xstate run --policy fsgs=lutomirski2016 examples/fsgs-q1b-other-cpu.xs
machine cpu=intel-icelake-sp cpus=2
thread t1 on cpu0
thread t2 on cpu1

t1 set_thread_area -1 0x7000
t1 mov fs = 0x63
t1 wrfsbase 0x200000000
t1 wrgsbase 0x300000000
t2 wrfsbase 0x1234000            # cpu1's FS base belongs to t2 now
migrate t1 to cpu1               # t2 is switched out of cpu1, t1 in
expect running cpu1 == t1
expect seg t1 fs == 0x63
expect seg t1 fsbase == 0x200000000 if fsgs=linux
expect seg t1 fsbase == 0x7000 if fsgs=lutomirski2016
expect seg t1 gs == 0
expect seg t1 gsbase == 0x300000000
migrate t2 to cpu0
expect seg t2 fsbase == 0x1234000
