package workflows

import (
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// The search attributes incident workflows set, so that ops find them in
// the Temporal UI ("RecoveryStage = 'awaiting_approval'"). Nothing
// personal: search attributes are not payloads, and no codec encrypts
// them.
var (
	AttrStage   = temporal.NewSearchAttributeKeyKeyword("RecoveryStage")
	AttrKind    = temporal.NewSearchAttributeKeyKeyword("RecoveryKind")
	AttrCarrier = temporal.NewSearchAttributeKeyKeyword("RecoveryCarrier")
	AttrOrderID = temporal.NewSearchAttributeKeyKeyword("RecoveryOrderID")
)

// SearchAttributes lists them by name with their types, for registration
// (`recovery search-attributes`; dev registers them itself).
var SearchAttributes = map[string]enumspb.IndexedValueType{
	AttrStage.GetName():   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	AttrKind.GetName():    enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	AttrCarrier.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	AttrOrderID.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
}

// changeSearchAttributes marks the change after which incident workflows
// set the search attributes (when the worker found them registered).
const changeSearchAttributes = "search-attributes"

// startAttributes sets what the incident is (its kind, its order, the
// carrier) and its first stage; publish keeps the stage current.
func (st *remedyState) startAttributes(ctx workflow.Context, in RecoveryInput) {
	st.attrs = in.SearchAttributes && changed(ctx, changeSearchAttributes)
	if !st.attrs {
		return
	}
	st.published = st.stage
	if in.AttributesAtStart && st.stage == StageDeciding {
		return
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, incidentAttributes(in, st.stage)...); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not set", "incident_id", in.Incident.ID, "error", err)
	}
}

// publish sets the stage's search attribute when it changed.
func (st *remedyState) publish(ctx workflow.Context) {
	if !st.attrs || st.stage == st.published {
		return
	}
	st.published = st.stage
	if err := workflow.UpsertTypedSearchAttributes(ctx, AttrStage.ValueSet(st.stage)); err != nil {
		workflow.GetLogger(ctx).Warn("stage not published", "incident_id", st.inc.ID, "error", err)
	}
}

// incidentAttributes are an incident's search attributes at a stage.
func incidentAttributes(in RecoveryInput, stage string) []temporal.SearchAttributeUpdate {
	updates := []temporal.SearchAttributeUpdate{AttrKind.ValueSet(string(in.Incident.Kind)),
		AttrOrderID.ValueSet(in.Incident.OrderID), AttrStage.ValueSet(stage)}
	if in.Carrier != "" {
		updates = append(updates, AttrCarrier.ValueSet(in.Carrier))
	}
	return updates
}
