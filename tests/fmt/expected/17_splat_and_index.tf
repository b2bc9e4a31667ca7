output "ids" {
  value = openstack_compute_instance_v2.web[*].id
}
output "first" {
  value = openstack_compute_instance_v2.web[0].network[0].fixed_ip_v4
}
output "legacy" {
  value = openstack_compute_instance_v2.web.*.id
}
output "keyed" {
  value = openstack_compute_instance_v2.app["a"].access_ip_v4
}
