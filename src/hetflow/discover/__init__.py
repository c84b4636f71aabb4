"""Node features: what this machine (or a worker) is, and which build of an application suits each node type.

    machine.py     discover() / local_features(): this machine's Features (cpu.py, tools.py, spec.local's NVML)
    nodes.py       fill_features(): a platform whose undescribed node types take the features found on them
    specialize.py  an application's specialization points (XaaS JSON) intersected with a node type's features

Imports spec and errors only (an import-linter contract); executors call it to describe their nodes.
"""
