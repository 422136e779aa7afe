# Makes `tb.common` importable from every test folder.
