// Package system is the analytic system model behind `starc hw`: AttAcc's
// DGX + HBM-PIM model of one decode step (attacc.md §3), with attention cycles
// from package pim's closed form.
package system
