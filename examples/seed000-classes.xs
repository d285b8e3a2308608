# Question: (seed 000) "It seems like we actually need three classes of
#   XSAVE states: 1. User state 2. Supervisor state that affects user mode
#   3. Supervisor state that affects kernel mode ... Where does PKRU fit in?"
#   How does each class decide what the kernel does at a context switch?
# Answer: (what this kernel, like Linux, does; `xstate info` prints the same
#   table for any model)
#   1 user state (x87 ... AVX-512, XTILECFG; XTILEDATA is "user-dynamic",
#     XFD-armed until first use): saved at switch-out, restored before user
#     mode -- the restore may be deferred, nothing in the kernel uses it.
#   PKRU: "user state that affect[s] kernel mode": the kernel's own user
#     accesses obey it, so it is switched eagerly at every switch and never
#     restored from the buffer.
#   2 supervisor state that affects user mode (CET_U, PASID): in the task
#     buffer, deferred exactly like user state.
#   3 supervisor state that affects kernel mode (CET_S): cannot be deferred
#     -- and the host does not use it, so it is kept for guests only.
#   LBR: independent -- in no buffer; its user switches it on its own.
machine cpu=intel-sapphire-rapids cpus=1
thread a on cpu0
thread b

expect class x87 == user
expect class avx == user
expect class xtilecfg == user
expect class xtiledata == user-dynamic
expect class pkru == user-affects-kernel
expect class cet_u == supervisor-affects-user
expect class pasid == supervisor-affects-user
expect class cet_s == supervisor-affects-kernel
expect class lbr == independent
expect class pt == unsupported
expect class uintr == unsupported

# What the classes mean at a switch a -> b:
a write ymm3 = fill:0x33
a wrpkru 0x0
a shstk enable
switch cpu0 to b
expect hw cpu0 pkru == 0x55555554  # PKRU: b's, loaded at the switch
expect needs-load b                # class 1 and 2: not loaded yet (deferred)
expect hw cpu0 u_cet == 0x1        # a's CET_U still in the registers
expect hw cpu0 ymm3 == fill:0x33   # a's AVX too
b run                              # the deferred restore
expect hw cpu0 u_cet == 0          # b's (no shadow stack)
expect hw cpu0 pl0_ssp == 0        # class 3: init for every host task
expect config restore & pkru == 0
expect config restore & cet_u == cet_u
expect config default & cet_s == 0
