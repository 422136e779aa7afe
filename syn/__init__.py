"""Open-source synthesis flow: Yosys / nextpnr-ice40 (YoWASP builds from the venv).

* syn.yosys             run the tools, collect logs in build/syn/
* syn.sources           find the RTL files a top module needs
* syn.tops              parameter sets for the synthesizability check
* syn.check             generic synthesis + latch / driver / loop checks (syn/test_synth_check.py)
* syn.report            python -m syn.report: resources, fmax, docs/synthesis.md
"""
