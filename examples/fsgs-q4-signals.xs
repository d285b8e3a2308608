# Question: seed 002, 4: does the sigcontext format need to change? (And:
#   should signal delivery and return do anything to the selectors or bases?)
# Answer: under fsgs=linux: no. The 64-bit sigcontext keeps its u16 fs and gs
#   fields, which the kernel writes as 0 and sigreturn ignores; delivery and
#   sigreturn leave both selectors and both bases alone. The handler runs
#   with the interrupted code's FS/GS, and whatever the handler sets stays
#   after sigreturn (it is not "restored"). Only the hardware intervenes:
#   the IRET into the handler turns a null selector 1-3 into 0 (base kept),
#   as any interrupt or exception return does -- spec section 7.2's
#   "selectors 1-3 may not survive IRET".
#   Under fsgs=lutomirski2016: the same -- the proposal's default: "by
#   default, it can't" do anything to them.
# Run both:
#   xstate run examples/fsgs-q4-signals.xs
#   xstate run --policy fsgs=lutomirski2016 examples/fsgs-q4-signals.xs
machine cpu=intel-icelake-sp cpus=1
thread t1

t1 set_thread_area -1 0x7000
t1 mov fs = 0x63
t1 wrfsbase 0x200000000
t1 arch_prctl SET_GS 0x300000000
expect errno t1 == 0
t1 arch_prctl GET_GS
expect value t1 == 0x300000000
t1 sigaction SIGUSR1
t1 signal SIGUSR1                # delivery: a frame on the user stack, the handler runs
expect in-handler t1 == 1
expect frame t1 uc.fs == 0       # the sigcontext's fs and gs fields: 0 on 64-bit
expect frame t1 uc.gs == 0
expect seg t1 fs == 0x63         # the handler sees the interrupted FS/GS
expect seg t1 fsbase == 0x200000000
expect seg t1 gs == 0
expect seg t1 gsbase == 0x300000000
t1 frame set uc.fs = 0x2b        # a handler that edits the fs field ...
t1 wrgsbase 0x400000000          # ... and sets another GS base
t1 sigreturn
expect in-handler t1 == 0
expect seg t1 fs == 0x63         # the fs field was ignored
expect seg t1 fsbase == 0x200000000
expect seg t1 gsbase == 0x400000000  # nothing restored: the handler's base stays

# One exception, from the hardware: the delivery returns to user mode with
# IRET (regs->ip is the handler's: no SYSRET), and IRET nulls a null
# selector with RPL 1-3 in FS/GS ("SegmentSelector := 0", SDM IRET); the
# base stays. A system call's SYSRET leaves such a selector alone.
t1 mov gs = 3
t1 wrgsbase 0x500000000
t1 syscall
expect seg t1 gs == 3              # SYSRET
t1 signal SIGUSR1
expect seg t1 gs == 0              # IRET into the handler
expect seg t1 gsbase == 0x500000000
t1 sigreturn
expect seg t1 gs == 0
