v_cli_var    = "first.tfvars"
v_cli_file   = "first.tfvars"
v_first_file = "first.tfvars"
