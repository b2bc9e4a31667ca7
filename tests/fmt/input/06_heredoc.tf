resource "openstack_compute_instance_v2" "web" {
  name = "web"
  user_data = <<EOF2
#cloud-config
packages:
  - nginx
runcmd:
  - echo ${ var.greeting }   
EOF2
  flavor_name = "m1.small"
}
