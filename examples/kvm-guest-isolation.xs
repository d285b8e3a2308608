# Question: KVM guest state (seed 003): a vCPU has an xstate buffer of its own, swapped
#   in when its task issues KVM_RUN and out when the ioctl returns; the
#   guest's XCR0 and IA32_XSS are loaded only between VM entry and VM exit.
# Answer:
#   - the guest starts from the initial configuration: it never sees the
#     host task's ymm1 (0x11) or zmm20;
#   - the guest's buffer follows guest_default_cfg: it has room for CET_S
#     (PL0-2_SSP, the "kernel-dynamic"/guest-supervisor feature), host task
#     buffers do not;
#   - inside the guest the CPU runs with the guest's XCR0 (x87, then
#     x87|sse|avx after its XSETBV), outside always with the host's;
#   - a preemption between VM exit and the next entry saves the guest's
#     state into the guest buffer, another task runs, and the next entry
#     brings it back;
#   - when KVM_RUN returns, the host task has exactly its own registers and
#     the guest's CET_S is in its initial state (0) on the host.
# The simulator checks it after every step: the guest's registers against
#   the guest's own shadow, the host task's against its shadow ("leak" if
#   either sees the other's values), the host-context registers.
# Seeded bugs this catches (run with --policy mutant=NAME):
#   guest-state-leak  KVM_RUN returns without restoring the host state:
#                     "leak: vmm on cpu0 sees guest g0's value in avx"
#   kvm-xcr0-order    the host XCR0 comes back after the host's XRSTOR:
#                     "guest: cpu0 has XCR0 0x7 in host context"
machine cpu=intel-sapphire-rapids cpus=1
thread vmm
thread other

vmm write ymm1 = fill:0x11
vmm write zmm20 = fill:0x12
vcpu g0 in vmm                   # KVM_CREATE_VCPU: guest buffer, guest permissions locked
expect kvm g0 xcr0 == x87        # the guest's XCR0 at RESET
kvm g0 run                       # KVM_RUN: host state saved, guest state loaded, VM entry
expect xcr0 cpu0 == x87
guest g0 xsetbv x87|sse|avx
expect kvm g0 errno == 0
guest g0 xsetbv x87|avx          # AVX without SSE: KVM injects #GP
expect kvm g0 errno == EINVAL
expect xcr0 cpu0 == x87|sse|avx
expect guest g0 ymm1 == zero     # never the host task's 0x11
guest g0 write ymm1 = fill:0x22
guest g0 wrmsr xss = cet_s       # the guest kernel enables supervisor shadow stacks
guest g0 wrmsr pl0_ssp = 0x7000
kvm g0 exit                      # VM exit: host XCR0 and IA32_XSS back at once
expect xcr0 cpu0 == host
switch cpu0 to other             # preempted inside KVM_RUN
other write ymm1 = fill:0x33
switch cpu0 to vmm
kvm g0 enter                     # the guest's buffer is restored before the entry
expect guest g0 ymm1 == fill:0x22
guest g0 rdmsr pl0_ssp
kvm g0 stop                      # KVM_RUN returns: guest state saved, host state restored
expect vmm ymm1 == fill:0x11
expect vmm zmm20 == fill:0x12
expect msr cpu0 pl0_ssp == 0     # CET_S is not in the host task's buffer: init
expect xcr0 cpu0 == host
