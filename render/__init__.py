"""The offline render: run the program under Pulumi's mock runtime and write what it would deploy."""
