resource "openstack_compute_instance_v2" "web" {
  name = "web"
  user_data = <<-EOT
    #!/bin/sh
    echo hi
  EOT
  flavor_name = "m1.tiny"
  key_pair = "k"
}
