# Question: (seed 003, Maxim Levitsky) "I still think that we should
#   consider adding XFEATURE_MASK_CET_KERNEL to XFEATURE_MASK_INDEPENDENT" --
#   what would CET_S as an independent feature, like LBR, cost?
# Answer: (policy cet-s=independent) no fpstate holds it -- host and guest
#   buffers shrink (alder-lake-pcore guests: 880 -> 856 bytes), the kernel
#   maximum too -- but KVM must switch it with its own XSAVES/XRSTORS into
#   a buffer of its own (576 bytes of legacy area and header + 24 -> 640
#   bytes per vCPU), on the scheduler's schedule: one XSAVES and one XRSTORS
#   of the initial state when a vCPU thread is switched out (no guest's
#   PL0_SSP may reach another vCPU), one XRSTORS when it is switched in,
#   whether or not the guest runs in between (Yang Weijiang: CET supervisor
#   state "require[s] relatively eager handling"). Below: one preemption
#   inside KVM_RUN costs 3 extra instructions (cet-s-guest.xs: 0) and so
#   does every switch of the VMM thread outside KVM_RUN; the vCPU thread
#   holds 2352 bytes (856 + 856 + 640) instead of 1736. In exchange the
#   registers are back to init at the switch itself.
machine cpu=intel-alder-lake-pcore cpus=1 cet-s=independent
thread a on cpu0
thread b

expect class cet_s == supervisor-affects-kernel
expect config xss & cet_s == cet_s           # still enabled in IA32_XSS ...
expect config independent & cet_s == cet_s   # ... as an independent feature
expect config max & cet_s == 0
expect config guest & cet_s == 0
expect config guest-size == 856
expect config default-size == 856
expect config restore & cet_s == 0           # host restores no longer touch it
expect mem a == 856

# Host tasks that run no vCPU never pay for it.
a write ymm0 = fill:0x11
switch cpu0 to b
switch cpu0 to a
expect a ymm0 == fill:0x11
expect kstat indep-saves == 0
expect kstat indep-restores == 0

# A vCPU in task a: its guest's CET_S is switched on the scheduler's
# schedule, eagerly.
vcpu g0 in a
kvm g0 run
guest g0 wrmsr xss = cet_s
guest g0 wrmsr pl0_ssp = 0x7000    # the guest kernel's shadow stack
kvm g0 exit
switch cpu0 to b                   # sched-out: XSAVES(CET_S), XRSTORS(init)
expect msr cpu0 pl0_ssp == 0       # init at once, even in b's kernel mode
expect kstat indep-saves == 1
switch cpu0 to a                   # sched-in: XRSTORS(CET_S)
kvm g0 enter
expect msr cpu0 pl0_ssp == 0x7000
kvm g0 exit
kvm g0 stop
expect kstat indep-restores == 2
a run                              # the VMM thread in user mode ...
switch cpu0 to b                   # ... is switched like any vCPU thread:
switch cpu0 to a                   # 3 more instructions though no guest ran
expect kstat indep-saves == 2
expect kstat indep-restores == 4
expect mem a == 2352               # 856 task + 856 guest + 640 CET_S buffer (Linux: 1736)
