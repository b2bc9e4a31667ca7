resource "openstack_compute_instance_v2" "web" {
  name        = "web"
  image_name  = "cirros"
  flavor_name = "m1.tiny"
  key_pair    = "default"

  availability_zone = "nova"
  user_data         = "#cloud-config"
}
