v_auto_9     = "9-late.auto.tfvars"
v_cli_var    = "9-late.auto.tfvars"
v_cli_file   = "9-late.auto.tfvars"
v_first_file = "9-late.auto.tfvars"
