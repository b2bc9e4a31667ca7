locals {
  script = <<-EOT
      #!/bin/sh
      echo "hello ${var.name}"
      %{for p in var.packages~}
      apt-get install -y ${p}
      %{endfor~}
    EOT
  other  = 1
}
