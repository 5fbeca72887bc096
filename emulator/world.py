"""How an inference-component endpoint behaves over time: placement, capacity and lifecycle.

This is the emulator's model of SageMaker, independent of moto's request plumbing. One ``World``
exists per (account, region); it is advanced to the clock's time before every read or write
(``sync``), so the same code serves the virtual and the wall clock.

Rules modelled (see README "Emulator"):
- each copy reserves its ComputeResourceRequirements on one instance (accelerators, cores, memory);
- copies that do not fit wait; ManagedInstanceScaling provisions an instance (after
  ``instance_provisioning_seconds``) up to MaxInstanceCount, and releases an instance that has been
  empty for ``instance_scale_in_cooldown_seconds`` down to MinInstanceCount (0 allowed);
- a placed copy loads for the component's model-load time (plus a small stagger per copy so
  CurrentCopyCount rises one by one);
- lowering the count takes the leaving copies out of service at once (loading ones are dropped
  first) and releases their resources one by one, ``copy_release_seconds`` apart; the component
  stays Updating until the last one is gone. Deleting a component does the same, in state Deleting,
  and the component disappears with its last copy;
- a new specification rolls: new copies are placed beside the old ones one batch at a time
  (RollingUpdatePolicy.MaximumBatchSize, or every copy at once, blue/green, without a deployment
  config); once a batch is loaded as many old copies leave, then the batch bakes for
  WaitIntervalInSeconds before the next one starts;
- a component whose single copy can never fit the instance type goes to Failed with a reason.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from awsmodel import COPY_STAGGER_SECONDS, copy_ready_after

from .instances import InstanceType, instance_type


@dataclass
class ComponentSettings:
    model_load_seconds: float | None = None
    model_latency_ms: float | None = None
    max_concurrency_per_copy: int | None = None
    # When set, the next copy that loads fails the component with this FailureReason (a crashing
    # container, a failed health check), the way SageMaker reports a failed deployment.
    fail_load_with: str | None = None


@dataclass
class EmulatorSettings:
    """Timings and limits of the model; per-component values override the defaults."""

    model_load_seconds: float = 240.0
    copy_stagger_seconds: float = COPY_STAGGER_SECONDS
    # A leaving copy holds its instance's resources this long after the one before it left.
    copy_release_seconds: float = 15.0
    endpoint_update_seconds: float = 120.0
    # How long DeleteEndpoint keeps an endpoint Deleting before it is gone (0: at once).
    endpoint_delete_seconds: float = 0.0
    instance_provisioning_seconds: float = 360.0
    instance_scale_in_cooldown_seconds: float = 600.0
    model_latency_ms: float = 800.0
    max_concurrency_per_copy: int | None = None
    # Single InvokeEndpoint calls really take the model latency (wall time), so a probe measures it.
    sleep_latency: bool = False
    components: dict[str, ComponentSettings] = field(default_factory=dict)


@dataclass(frozen=True)
class Requirements:
    accelerators: float
    cores: float
    memory_mb: int

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Requirements:
        crr = spec.get("ComputeResourceRequirements") or {}
        return cls(
            accelerators=float(crr.get("NumberOfAcceleratorDevicesRequired") or 0),
            cores=float(crr.get("NumberOfCpuCoresRequired") or 0),
            memory_mb=int(crr.get("MinMemoryRequiredInMb") or 0),
        )

    def fits(self, itype: InstanceType) -> bool:
        return (
            self.accelerators <= itype.accelerators and self.cores <= itype.vcpus and self.memory_mb <= itype.memory_mb
        )


@dataclass(eq=False)
class Instance:
    id: str
    itype: InstanceType
    ready_at: datetime
    empty_since: datetime
    copies: list[Copy] = field(default_factory=list)

    def is_ready(self, now: datetime) -> bool:
        return self.ready_at <= now

    def free(self) -> tuple[float, float, int]:
        acc = self.itype.accelerators - sum(c.req.accelerators for c in self.copies)
        cores = self.itype.vcpus - sum(c.req.cores for c in self.copies)
        mem = self.itype.memory_mb - sum(c.req.memory_mb for c in self.copies)
        return acc, cores, mem

    def can_host(self, req: Requirements) -> bool:
        acc, cores, mem = self.free()
        return req.accelerators <= acc and req.cores <= cores and req.memory_mb <= mem


@dataclass(eq=False)
class Copy:
    component: str
    req: Requirements
    instance: Instance
    ready_at: datetime
    # The component's specification generation this copy runs; older ones are replaced by a rollout.
    generation: int = 0
    # Set once the copy is leaving: it serves no more and frees its resources at this time.
    leaves_at: datetime | None = None
    # Consolidation moves a copy make-before-break: this one serves until its replacement is loaded.
    moving_to: Copy | None = None

    def loaded(self, now: datetime) -> bool:
        return self.ready_at <= now

    def serving(self, now: datetime) -> bool:
        return self.leaves_at is None and self.loaded(now)


@dataclass
class Rollout:
    """A specification update in progress: ``batch`` new copies at a time, each baked ``bake_seconds``."""

    batch: int
    bake_seconds: float
    wanted_new: int = 0  # new copies asked for so far
    bake_until: datetime | None = None


@dataclass(eq=False)
class Endpoint:
    name: str
    arn: str
    variant_name: str
    itype: InstanceType
    ic_capable: bool
    managed_scaling: dict[str, Any]
    routing_config: dict[str, Any] | None
    initial_instance_count: int
    instances: list[Instance] = field(default_factory=list)
    updating_until: datetime | None = None  # an UpdateEndpoint in progress
    deleting_until: datetime | None = None  # a DeleteEndpoint in progress (``endpoint_delete_seconds``)
    failure_reason: str | None = None  # set: the endpoint is Failed (``World.fail_endpoint``)
    last_operation: datetime | None = None  # the last copy placed or removed (consolidation's cooldown)

    def status(self, now: datetime) -> str:
        """EndpointStatus as DescribeEndpoint gives it: Failed, Deleting, Updating or InService."""
        if self.failure_reason is not None:
            return "Failed"
        if self.deleting_until is not None and self.deleting_until > now:
            return "Deleting"
        if self.updating_until is not None and self.updating_until > now:
            return "Updating"
        return "InService"

    @property
    def scale_in(self) -> tuple[str, int, timedelta]:
        """ManagedInstanceScaling.ScaleInPolicy: (Strategy, MaximumStepSize, CooldownInMinutes), with
        the API reference's defaults (step 1, cooldown 20 minutes); IDLE_RELEASE when none is set."""
        policy = self.managed_scaling.get("ScaleInPolicy") or {}
        return (
            str(policy.get("Strategy") or "IDLE_RELEASE"),
            int(policy.get("MaximumStepSize") or 1),
            timedelta(minutes=int(policy.get("CooldownInMinutes") or 20)),
        )

    @property
    def scaling_enabled(self) -> bool:
        return str(self.managed_scaling.get("Status", "DISABLED")).upper() == "ENABLED"

    @property
    def min_instances(self) -> int:
        if not self.scaling_enabled:
            return self.initial_instance_count
        return int(self.managed_scaling.get("MinInstanceCount", 0))

    @property
    def max_instances(self) -> int:
        if not self.scaling_enabled:
            return self.initial_instance_count
        return int(self.managed_scaling.get("MaxInstanceCount", self.initial_instance_count))

    def ready_instances(self, now: datetime) -> int:
        return sum(1 for i in self.instances if i.is_ready(now))


@dataclass(eq=False)
class Component:
    name: str
    arn: str
    endpoint: Endpoint
    variant_name: str
    specification: dict[str, Any]
    req: Requirements
    created_at: datetime
    desired: int
    status: str = "Creating"
    failure_reason: str | None = None
    last_modified: datetime | None = None
    update_kind: str = "CREATE_IN_PROGRESS"
    copies: list[Copy] = field(default_factory=list)
    in_flight: deque[datetime] = field(default_factory=deque)
    tags: list[dict[str, str]] = field(default_factory=list)
    deployment_config: dict[str, Any] | None = None
    generation: int = 0
    rollout: Rollout | None = None

    def current(self, now: datetime) -> int:
        return sum(1 for c in self.copies if c.serving(now))

    def staying(self) -> list[Copy]:
        """The copies that are not leaving (loaded or loading), of any generation; a copy being moved
        counts once, as its replacement."""
        return [c for c in self.copies if c.leaves_at is None and c.moving_to is None]

    @property
    def placement(self) -> str:
        """The component's SchedulingConfig.PlacementStrategy: SPREAD, or BINPACK (the default here)."""
        scheduling = self.specification.get("SchedulingConfig") or {}
        return str(scheduling.get("PlacementStrategy") or "BINPACK")


class World:
    """All endpoints and components of one account and region."""

    def __init__(self, settings: EmulatorSettings, now: datetime) -> None:
        self.settings = settings
        self.endpoints: dict[str, Endpoint] = {}
        self.components: dict[str, Component] = {}
        self.synced_to = now
        self._ids = itertools.count(1)
        self.deleted_endpoints: set[str] = set()  # gone after Deleting; the API forgets them when asked

    # ----------------------------------------------------------------- endpoints
    def add_endpoint(
        self,
        *,
        name: str,
        arn: str,
        variant: dict[str, Any],
        now: datetime,
    ) -> Endpoint:
        self.sync(now)
        itype = instance_type(variant["InstanceType"])
        initial = int(variant.get("InitialInstanceCount") or 1)
        endpoint = Endpoint(
            name=name,
            arn=arn,
            variant_name=variant["VariantName"],
            itype=itype,
            ic_capable="ModelName" not in variant,
            managed_scaling=dict(variant.get("ManagedInstanceScaling") or {}),
            routing_config=variant.get("RoutingConfig"),
            initial_instance_count=initial,
        )
        # The endpoint's initial instances come up with the endpoint (moto reports it InService).
        endpoint.instances = [self._new_instance(itype, now, now) for _ in range(initial)]
        self.endpoints[name] = endpoint
        return endpoint

    def update_endpoint(self, endpoint: Endpoint, variant: dict[str, Any], now: datetime) -> None:
        """UpdateEndpoint within the variant: new ManagedInstanceScaling and RoutingConfig. Instances
        below a raised MinInstanceCount are provisioned; the endpoint is Updating meanwhile."""
        self.sync(now)
        endpoint.managed_scaling = dict(variant.get("ManagedInstanceScaling") or {})
        endpoint.routing_config = variant.get("RoutingConfig")
        endpoint.initial_instance_count = int(variant.get("InitialInstanceCount") or endpoint.initial_instance_count)
        provisioning = timedelta(seconds=self.settings.instance_provisioning_seconds)
        while len(endpoint.instances) < min(endpoint.min_instances, endpoint.max_instances):
            endpoint.instances.append(self._new_instance(endpoint.itype, now + provisioning, now))
        endpoint.updating_until = now + timedelta(seconds=self.settings.endpoint_update_seconds)
        self._place(now)
        self._settle_status(now)

    def fail_endpoint(self, name: str, reason: str | None) -> None:
        """Put an endpoint in Failed with ``reason`` (None: back to its other state), as SageMaker does
        when an update or its instances cannot be recovered. Its components' writes are refused."""
        self.endpoints[name].failure_reason = reason

    def remove_endpoint(self, name: str) -> None:
        self.endpoints.pop(name, None)
        for ic_name in [n for n, c in self.components.items() if c.endpoint.name == name]:
            del self.components[ic_name]

    def _new_instance(self, itype: InstanceType, ready_at: datetime, now: datetime) -> Instance:
        return Instance(id=f"i-{next(self._ids):06d}", itype=itype, ready_at=ready_at, empty_since=now)

    # ---------------------------------------------------------------- components
    def settings_for(self, component: str) -> tuple[float, float, int | None]:
        own = self.settings.components.get(component, ComponentSettings())
        load = own.model_load_seconds if own.model_load_seconds is not None else self.settings.model_load_seconds
        lat = own.model_latency_ms if own.model_latency_ms is not None else self.settings.model_latency_ms
        conc = (
            own.max_concurrency_per_copy
            if own.max_concurrency_per_copy is not None
            else self.settings.max_concurrency_per_copy
        )
        return load, lat, conc

    def add_component(self, component: Component, now: datetime) -> None:
        self.sync(now)
        self.components[component.name] = component
        self._place(now)
        self._settle_status(now)

    def set_copy_count(self, component: Component, copies: int, now: datetime, kind: str) -> None:
        self.sync(now)
        if copies == component.desired and component.status == "InService":
            component.last_modified = now
            return
        component.desired = copies
        component.status = "Updating"
        component.update_kind = kind
        component.failure_reason = None
        component.last_modified = now
        self._place(now)
        self._settle_status(now)

    def update_specification(
        self,
        component: Component,
        specification: dict[str, Any],
        req: Requirements,
        copies: int,
        now: datetime,
        rolling: dict[str, Any] | None,
    ) -> None:
        """Start replacing every copy with one of the new specification (see the module docstring)."""
        self.sync(now)
        component.specification, component.req = specification, req
        component.generation += 1
        old = len(component.staying())
        component.rollout = None
        if old:
            batch, bake = copies or 1, 0.0
            if rolling:
                size = rolling["MaximumBatchSize"]
                value = int(size["Value"])
                batch = value if size["Type"] == "COPY_COUNT" else -(-value * max(copies, old) // 100)
                bake = float(rolling["WaitIntervalInSeconds"])
            component.rollout = Rollout(batch=max(1, batch), bake_seconds=bake)
        component.desired = copies
        component.status, component.update_kind = "Updating", "UPDATE_IN_PROGRESS"
        component.failure_reason = None
        component.last_modified = now
        self._place(now)
        self._settle_status(now)

    def delete_component(self, component: Component, now: datetime) -> None:
        """Deleting: every copy leaves (one by one), and the component goes with the last one."""
        self.sync(now)
        component.status, component.last_modified = "Deleting", now
        component.desired, component.rollout = 0, None
        self._release(component, component.staying(), now)
        self._finish_deletes(now)

    # -------------------------------------------------------------------- time
    def next_event_after(self, t: datetime) -> datetime | None:
        """The earliest moment after ``t`` when the model changes by itself, if any."""
        candidates: list[datetime] = []
        for c in self.components.values():
            candidates += [cp.ready_at for cp in c.copies if cp.ready_at > t]
            candidates += [cp.leaves_at for cp in c.copies if cp.leaves_at and cp.leaves_at > t]
            if c.rollout and c.rollout.bake_until and c.rollout.bake_until > t:
                candidates.append(c.rollout.bake_until)
        for e in self.endpoints.values():
            candidates += [i.ready_at for i in e.instances if i.ready_at > t]
            due = self._consolidation_due(e)
            if due is not None and due > t:
                candidates.append(due)
            if e.updating_until and e.updating_until > t:
                candidates.append(e.updating_until)
            if e.deleting_until and e.deleting_until > t:
                candidates.append(e.deleting_until)
            if e.scaling_enabled and len(e.instances) > e.min_instances:
                cooldown = timedelta(seconds=self.settings.instance_scale_in_cooldown_seconds)
                candidates += [
                    i.empty_since + cooldown
                    for i in e.instances
                    if not i.copies and i.is_ready(t) and i.empty_since + cooldown > t
                ]
        return min(candidates) if candidates else None

    def sync(self, now: datetime) -> None:
        """Advance the model to ``now``, processing every change in time order."""
        if now <= self.synced_to:
            return  # nothing can fall due in an empty interval; skips a scan of the whole world
        while True:
            nxt = self.next_event_after(self.synced_to)
            if nxt is None or nxt > now:
                break
            self._step(nxt)
        if now > self.synced_to:
            self._step(now)

    def _step(self, t: datetime) -> None:
        self.synced_to = t
        for e in [e for e in self.endpoints.values() if e.deleting_until and e.deleting_until <= t]:
            self.remove_endpoint(e.name)
            self.deleted_endpoints.add(e.name)
        self._remove_departed(t)
        self._finish_moves(t)
        self._finish_deletes(t)
        self._release_idle_instances(t)
        self._place(t)
        self._consolidate(t)
        self._settle_status(t)

    # ------------------------------------------------------------ consolidation
    def _consolidation_due(self, e: Endpoint) -> datetime | None:
        """When a CONSOLIDATION endpoint next evaluates: its cooldown after the last operation."""
        strategy, _, cooldown = e.scale_in
        if not e.scaling_enabled or strategy != "CONSOLIDATION" or e.last_operation is None:
            return None
        return e.last_operation + cooldown

    def _consolidate(self, t: datetime) -> None:
        """CONSOLIDATION: once the cooldown after the endpoint's last operation has passed, empty up to
        MaximumStepSize of the least-used instances by moving their copies onto the others (each
        replacement loads beside the copy it replaces, which serves until then); an emptied
        instance is released at once, down to MinInstanceCount."""
        for e in self.endpoints.values():
            due = self._consolidation_due(e)
            if due is None or due > t or len(e.instances) <= e.min_instances:
                continue
            if any(cp.moving_to for i in e.instances for cp in i.copies):
                continue  # a consolidation is still moving copies
            _, step, _ = e.scale_in
            ready = [i for i in e.instances if i.is_ready(t) and i.copies]
            drained: list[Instance] = []
            for source in sorted(ready, key=lambda i: (-i.free()[0], i.ready_at)):
                if len(drained) >= step or len(e.instances) - len(drained) <= e.min_instances:
                    break
                targets = [i for i in ready if i is not source and i not in drained]
                plan = self._fit_elsewhere(source.copies, targets)
                if plan is None:
                    continue
                for copy, target in plan:
                    self._move(copy, target, t)
                drained.append(source)
            if drained:
                e.last_operation = t
            else:
                e.last_operation = None  # nothing to consolidate until the next operation

    @staticmethod
    def _fit_elsewhere(copies: list[Copy], targets: list[Instance]) -> list[tuple[Copy, Instance]] | None:
        """Where each of ``copies`` would go (fullest fitting target first), or None if one fits nowhere."""
        free = {id(i): list(i.free()) for i in targets}
        plan = []
        for copy in sorted(copies, key=lambda cp: -cp.req.accelerators):
            fitting = [
                i
                for i in targets
                if copy.req.accelerators <= free[id(i)][0]
                and copy.req.cores <= free[id(i)][1]
                and copy.req.memory_mb <= free[id(i)][2]
            ]
            if not fitting:
                return None
            host = min(fitting, key=lambda i: free[id(i)][0])
            free[id(host)][0] -= copy.req.accelerators
            free[id(host)][1] -= copy.req.cores
            free[id(host)][2] -= copy.req.memory_mb
            plan.append((copy, host))
        return plan

    def _move(self, copy: Copy, target: Instance, t: datetime) -> None:
        load = self.settings_for(copy.component)[0]
        replacement = Copy(
            component=copy.component,
            req=copy.req,
            instance=target,
            ready_at=t + timedelta(seconds=load),
            generation=copy.generation,
        )
        target.copies.append(replacement)
        self.components[copy.component].copies.append(replacement)
        copy.moving_to = replacement

    def _finish_moves(self, t: datetime) -> None:
        """A moved copy leaves once its replacement is loaded (or stays, if the replacement was dropped)."""
        for c in self.components.values():
            for copy in [cp for cp in c.copies if cp.moving_to is not None]:
                replacement = copy.moving_to
                assert replacement is not None
                if replacement not in c.copies:
                    copy.moving_to = None
                elif replacement.loaded(t):
                    c.copies.remove(copy)
                    instance = copy.instance
                    self._detach(copy, t)
                    if not instance.copies and len(c.endpoint.instances) > c.endpoint.min_instances:
                        c.endpoint.instances.remove(instance)

    def _release_idle_instances(self, t: datetime) -> None:
        cooldown = timedelta(seconds=self.settings.instance_scale_in_cooldown_seconds)
        for e in self.endpoints.values():
            if not e.scaling_enabled:
                continue
            for inst in sorted(e.instances, key=lambda i: i.empty_since):
                if len(e.instances) <= e.min_instances:
                    break
                if not inst.copies and inst.is_ready(t) and inst.empty_since + cooldown <= t:
                    e.instances.remove(inst)

    def _remove_departed(self, t: datetime) -> None:
        for c in self.components.values():
            for copy in [cp for cp in c.copies if cp.leaves_at and cp.leaves_at <= t]:
                c.copies.remove(copy)
                self._detach(copy, t)

    def _finish_deletes(self, t: datetime) -> None:
        for name in [n for n, c in self.components.items() if c.status == "Deleting" and not c.copies]:
            del self.components[name]

    def _release(self, c: Component, leaving: list[Copy], t: datetime) -> None:
        """Take ``leaving`` out of service now; loading ones go at once, loaded ones one by one."""
        gap = timedelta(seconds=self.settings.copy_release_seconds)
        last = max([t, *(cp.leaves_at for cp in c.copies if cp.leaves_at)])
        c.endpoint.last_operation = t
        for copy in leaving:
            for moved in c.copies:
                if moved.moving_to is copy:  # a replacement leaves: the copy it was to replace stays
                    moved.moving_to = None
            if copy.loaded(t):
                last += gap
            if not copy.loaded(t) or last <= t:
                c.copies.remove(copy)
                self._detach(copy, t)
            else:
                copy.leaves_at = last

    def _settle_status(self, t: datetime) -> None:
        for c in self.components.values():
            if (
                c.status in ("Creating", "Updating")
                and c.rollout is None
                and len(c.copies) == c.desired
                and c.current(t) == c.desired
            ):
                c.status = "InService"
                c.last_modified = t

    def _detach(self, copy: Copy, t: datetime) -> None:
        copy.instance.copies.remove(copy)
        if not copy.instance.copies:
            copy.instance.empty_since = t

    def _place(self, t: datetime) -> None:
        for c in sorted(self.components.values(), key=lambda c: c.created_at):
            if c.status in ("Failed", "Deleting"):
                continue
            if c.rollout is not None:
                self._roll(c, t)
                continue
            staying = c.staying()
            if len(staying) > c.desired:
                # Lower: loading copies leave first (newest first), then loaded ones.
                order = sorted(staying, key=lambda cp: (not cp.loaded(t), cp.ready_at), reverse=True)
                self._release(c, order[: len(staying) - c.desired], t)
            self._add_copies(c, c.desired - len(c.staying()), t)

    def _roll(self, c: Component, t: datetime) -> None:
        """One step of a rollout: place the batch, retire as many old copies once it is loaded, bake."""
        rollout = c.rollout
        assert rollout is not None
        new = [cp for cp in c.staying() if cp.generation == c.generation]
        old = [cp for cp in c.staying() if cp.generation < c.generation]
        if rollout.wanted_new == 0:
            rollout.wanted_new = min(c.desired, rollout.batch)
        if len(new) < rollout.wanted_new:
            self._add_copies(c, rollout.wanted_new - len(new), t)
            new = [cp for cp in c.staying() if cp.generation == c.generation]
        if len(new) < rollout.wanted_new or not all(cp.loaded(t) for cp in new):
            return  # the batch is still loading (or waits for capacity)
        if rollout.bake_until is None:
            # The batch takes traffic: as many old copies leave, oldest first.
            surplus = len(old) + len(new) - c.desired
            self._release(c, sorted(old, key=lambda cp: cp.ready_at)[: max(0, surplus)], t)
            rollout.bake_until = t + timedelta(seconds=rollout.bake_seconds)
        if rollout.bake_until > t:
            return
        if len(new) < c.desired:
            rollout.wanted_new = min(c.desired, rollout.wanted_new + rollout.batch)
            rollout.bake_until = None
            self._roll(c, t)
        elif not [cp for cp in c.staying() if cp.generation < c.generation]:
            c.rollout = None

    def _add_copies(self, c: Component, missing: int, t: datetime) -> None:
        """Place up to ``missing`` copies of the current generation; those that do not fit wait."""
        if missing <= 0:
            return
        e = c.endpoint
        if not c.req.fits(e.itype):
            c.status = "Failed"
            c.failure_reason = (
                f"Inference component {c.name} requires {c.req.accelerators:g} accelerator devices, "
                f"{c.req.cores:g} CPU cores and {c.req.memory_mb} MB of memory per copy, which exceeds "
                f"what one {e.itype.name} instance provides ({e.itype.accelerators} accelerator devices, "
                f"{e.itype.vcpus} vCPUs, {e.itype.memory_mb} MB)."
            )
            c.last_modified = t
            return
        failure = self.settings.components.get(c.name, ComponentSettings()).fail_load_with
        if failure:
            c.status, c.failure_reason, c.last_modified = "Failed", failure, t
            return
        load = self.settings_for(c.name)[0]
        for n in range(missing):
            host = self._find_host(e, c.req, t, c.placement)
            if host is None:
                break  # waits for capacity: the component stays Creating/Updating
            e.last_operation = t
            start = max(t, host.ready_at)
            ready = start + timedelta(seconds=copy_ready_after(load, n, self.settings.copy_stagger_seconds))
            copy = Copy(component=c.name, req=c.req, instance=host, ready_at=ready, generation=c.generation)
            host.copies.append(copy)
            c.copies.append(copy)

    def _find_host(self, e: Endpoint, req: Requirements, t: datetime, placement: str) -> Instance | None:
        # Ready instances first; BINPACK: the one with the fewest free accelerators, SPREAD: the most.
        fitting = [i for i in e.instances if i.can_host(req)]
        if fitting:
            sign = -1 if placement == "SPREAD" else 1
            return min(fitting, key=lambda i: (not i.is_ready(t), sign * i.free()[0], i.ready_at))
        if len(e.instances) < e.max_instances:
            ready_at = t + timedelta(seconds=self.settings.instance_provisioning_seconds)
            inst = self._new_instance(e.itype, ready_at, t)
            e.instances.append(inst)
            return inst
        return None

    # ------------------------------------------------------------------ traffic
    def admit(self, c: Component, t: datetime, count: int = 1) -> tuple[int, int]:
        """Admit up to ``count`` requests at ``t``: returns (served, refused_for_no_capacity).

        With a per-copy concurrency limit, a request occupies a slot for the model latency.
        """
        self.sync(t)
        loaded = c.current(t)
        if loaded == 0:
            return 0, count
        _, latency_ms, limit = self.settings_for(c.name)
        if limit is None:
            return count, 0
        while c.in_flight and c.in_flight[0] <= t:
            c.in_flight.popleft()
        room = max(0, limit * loaded - len(c.in_flight))
        served = min(room, count)
        done = t + timedelta(milliseconds=latency_ms)
        c.in_flight.extend([done] * served)
        return served, count - served


def placement_status(c: Component, now: datetime) -> list[dict[str, Any]]:
    loaded = c.current(now)
    if not loaded:
        return []
    return [{"InstanceType": c.endpoint.itype.name, "CurrentCopyCount": loaded}]
