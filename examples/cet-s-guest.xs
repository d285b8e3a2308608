# Question: (seed 003) CET supervisor state (PL0-2_SSP) is "supervisor
#   state that affects kernel mode" (seed 000 class 3): it cannot wait for
#   the return to user mode, but the host kernel does not use supervisor
#   shadow stacks -- only KVM guests do. Where does Linux keep it, and what
#   does that cost?
# Answer: (Linux v6.17, policy cet-s=guest, the default) a "guest
#   supervisor" feature. It is enabled in IA32_XSS and counted in the kernel
#   maximum, but left out of every host task buffer (alder-lake-pcore: 856
#   bytes instead of 880) and present in guest buffers (880). Host restores
#   still name it in their RFBM, so XRSTORS puts it in its initial state: no
#   guest value ever survives into a host task's user mode. A vCPU costs no
#   instruction of its own: the guest's PL0_SSP rides in the guest
#   fpstate's XSAVES/XRSTORS, one vCPU thread holds 1736 bytes (856 + 880).
#   The price is the deferral: after a preemption the guest's value stays
#   in the registers while the host kernel runs, until the next host task
#   returns to user mode -- harmless only because the host kernel uses no
#   supervisor shadow stack (were it class-3 state the host relies on, it
#   would have to be switched at the switch itself). Compare cet-s-task.xs
#   and cet-s-independent.xs, the alternatives seed 003 debated.
machine cpu=intel-alder-lake-pcore cpus=1
thread a on cpu0
thread b

expect class cet_s == supervisor-affects-kernel
expect config xss & cet_s == cet_s
expect config max & cet_s == cet_s
expect config default & cet_s == 0
expect config default-size == 856
expect config guest & cet_s == cet_s
expect config guest-size == 880
expect config restore & cet_s == cet_s       # forced to init for host tasks
expect config independent == lbr
expect mem a == 856

# Host tasks switch: CET_S stays in its initial configuration.
a write ymm0 = fill:0x11
switch cpu0 to b
b write ymm0 = fill:0x22
switch cpu0 to a
expect a ymm0 == fill:0x11
expect hw cpu0 pl0_ssp == 0
expect kstat indep-saves == 0

# A vCPU in task a: the guest's CET_S rides in the guest fpstate.
vcpu g0 in a
kvm g0 run
guest g0 wrmsr xss = cet_s
guest g0 wrmsr pl0_ssp = 0x7000    # the guest kernel's shadow stack
kvm g0 exit
switch cpu0 to b                   # preempted between exit and entry
expect msr cpu0 pl0_ssp == 0x7000  # deferred: still the guest's in b's kernel mode
b run                              # the host restore forces CET_S to init
expect msr cpu0 pl0_ssp == 0
switch cpu0 to a
kvm g0 enter                       # the guest fpstate comes back with it
expect msr cpu0 pl0_ssp == 0x7000
kvm g0 exit
kvm g0 stop
expect kstat indep-saves == 0      # no instruction of its own, ever
expect kstat indep-restores == 0
expect mem a == 1736               # 856 task buffer + 880 guest buffer
