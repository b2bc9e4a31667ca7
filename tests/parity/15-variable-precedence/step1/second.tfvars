v_cli_file = "second.tfvars"
