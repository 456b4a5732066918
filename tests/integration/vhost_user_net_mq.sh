#!/usr/bin/env bash
# The two-guests-through-DPDK test (vhost_user_net.sh) with 2 queue pairs per device:
# testpmd ports with queues=2, max_virtqueue_pairs=2, the control queue served by the VMM,
# pair 1 off until the guest's VQ_PAIRS_SET. With NET_CPUS=2 (the default here) Linux asks
# for both pairs; with 1 vCPU it keeps one.
NET_QUEUES=2 NET_CPUS=${NET_CPUS:-2} NET_MTU=${NET_MTU:-1500} \
    exec "$(dirname "$0")/vhost_user_net.sh"
